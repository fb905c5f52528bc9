/**
 * The Kubernetes glue: classify an intercepted request, name its resource, keep site-local
 * fields, read a manifest's scope, list dependencies.
 */
export * from './call.js';
export { classifyKubernetesRequest, deleteOptionsDryRun, isValidPathSegmentName } from './classify.js';
export { parseFieldSelector, requiredFieldValue, type FieldSelectorResult, type FieldSelectorTerm } from './field-selector.js';
export {
  hasGeneratedName, isNamespacedResource, kubernetesApp, kubernetesServiceName, normalizeKubernetesService, objectName,
  resourceForKind, resourceKeyOfCall, resourceKeyOfObject, splitApiVersion,
} from './resource-key.js';
export { mergeSiteLocalFields, scopeAnnotation, stripSiteLocalFields, takeScopeAnnotation } from './local-fields.js';
export { isOwnedChild, listKubernetesDependencies, type DependencyOptions, type KubernetesDependency } from './dependencies.js';
export { builtinResources, findBuiltinKind, findBuiltinPlural, findBuiltinResource, isBuiltinGroup, type BuiltinResource } from './builtin-resources.js';
export { kubernetesReplicationGlue } from './replication-glue.js';
