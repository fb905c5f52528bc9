/**
 * Classifies every request the real kubectl 1.32 sent (recorded by fixtures/capture-kubectl.ts into
 * fixtures/kubectl-requests.json) and checks the result against what the API server would resolve.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { getIn } from '../json.js';
import type { RecordedCommand } from './fixtures/capture-kubectl.js';
import {
  classifyKubernetesRequest, deleteOptionsDryRun, listKubernetesDependencies, resourceKeyOfCall, takeScopeAnnotation,
  type KubernetesCall, type KubernetesResourceCall,
} from './index.js';

interface Fixture {
  readonly commands: readonly RecordedCommand[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/kubectl-requests.json', import.meta.url), 'utf8')) as Fixture;

/** One line per call: `verb group/resource[/sub] ns=… name=… [flags]`, or the non-resource kind. */
function summarize(call: KubernetesCall): string {
  switch (call.kind) {
    case 'resource': {
      const flags = [
        call.watch ? 'watch' : '', call.legacyWatchPath ? 'legacy' : '', call.longRunning ? 'long' : '',
        call.dryRun ? 'dry' : '', call.patchType === undefined ? '' : `patch=${call.patchType}`,
      ].filter((flag) => flag !== '');
      const resource = `${call.group === '' ? '' : `${call.group}/`}${call.resource}${call.subresource === undefined ? '' : `/${call.subresource}`}`;
      return [`${call.verb} ${resource} ns=${call.namespace ?? '-'} name=${call.name ?? '-'}`, ...flags].join(' ');
    }
    case 'discovery':
      return `discovery ${call.legacy ? 'api' : 'apis'}${call.group === undefined ? '' : ` group=${call.group}`}${call.version === undefined ? '' : ` ${call.version}`}`;
    case 'openapi':
      return `openapi ${call.openApiVersion}${call.documentPath === undefined ? '' : ` ${call.documentPath}`}`;
    case 'health':
      return `health ${call.endpoint}`;
    default:
      return call.kind;
  }
}

const legacyDiscovery = ['discovery api', 'discovery apis'];
const groupVersions = ['discovery api group= v1', 'discovery apis group=apps v1', 'discovery apis group=authorization.k8s.io v1', 'discovery apis group=batch v1'];
const openApiCore = ['openapi v3', 'openapi v3 api/v1'];

/** What each command's requests must classify as, in order. Discovery order varies: sorted there. */
const expected: Readonly<Record<string, readonly string[]>> = {
  'kubectl version': ['version', 'version'],
  'kubectl api-versions': [...legacyDiscovery, ...groupVersions],
  'kubectl get pods': [...legacyDiscovery, ...groupVersions, 'list pods ns=default name=-'],
  'kubectl get pods -w': ['list pods ns=default name=-', 'watch pods ns=default name=- watch long'],
  'kubectl get pod x -n y': ['get pods ns=y name=x'],
  'kubectl get pod x -n y -w': ['get pods ns=y name=x', 'watch pods ns=y name=x watch long'],
  'kubectl get pod x -n y -o yaml': ['get pods ns=y name=x'],
  'kubectl get pods --all-namespaces': ['list pods ns=- name=-'],
  'kubectl get pods -l app=web --field-selector status.phase=Running': ['list pods ns=default name=-'],
  'kubectl get nodes': ['list nodes ns=- name=-'],
  'kubectl get ns': ['list namespaces ns=- name=-'],
  'kubectl get ns y': ['get namespaces ns=- name=y'],
  'kubectl get all': ['list pods ns=default name=-', 'list services ns=default name=-', 'list apps/deployments ns=default name=-'],
  'kubectl create namespace foo': ['create namespaces ns=- name=-'],
  'kubectl run nginx --image=nginx': ['create pods ns=default name=-'],
  'kubectl run blue --image=nginx -n foo': ['create pods ns=foo name=-'],
  'kubectl create secret generic s1 --from-literal=password=hunter2': ['create secrets ns=default name=-'],
  'kubectl create configmap c1 --from-literal=a=b': ['create configmaps ns=default name=-'],
  'kubectl create serviceaccount robot': ['create serviceaccounts ns=default name=-'],
  'kubectl create service clusterip svc1 --tcp=80:8080': ['create services ns=default name=-'],
  'kubectl create deployment web2 --image=nginx': ['create apps/deployments ns=default name=-'],
  'kubectl create job j1 --image=busybox': ['create batch/jobs ns=default name=-'],
  'kubectl get deploy': ['list apps/deployments ns=default name=-'],
  'kubectl get deployments.apps web2 -o json': ['get apps/deployments ns=default name=web2'],
  'kubectl scale deployment web2 --replicas=3': ['get apps/deployments ns=default name=web2', 'patch apps/deployments/scale ns=default name=web2 patch=merge'],
  'kubectl set image deployment/web web=nginx:2': ['get apps/deployments ns=default name=web', 'patch apps/deployments ns=default name=web patch=strategic-merge'],
  'kubectl rollout restart deployment/web': ['get apps/deployments ns=default name=web', 'patch apps/deployments ns=default name=web patch=strategic-merge'],
  'kubectl label pod nginx tier=front': ['get pods ns=default name=nginx', 'patch pods ns=default name=nginx patch=merge'],
  'kubectl annotate pod nginx note=hi': ['get pods ns=default name=nginx', 'patch pods ns=default name=nginx patch=merge'],
  'kubectl patch pod nginx -p \'{"metadata":{"labels":{"x":"y"}}}\'': ['get pods ns=default name=nginx', 'patch pods ns=default name=nginx patch=strategic-merge'],
  'kubectl patch pod nginx --type=merge -p \'{"metadata":{"labels":{"x":"z"}}}\'': ['get pods ns=default name=nginx', 'patch pods ns=default name=nginx patch=merge'],
  'kubectl patch pod nginx --type=json -p \'[{"op":"add","path":"/metadata/labels/z","value":"1"}]\'': ['get pods ns=default name=nginx', 'patch pods ns=default name=nginx patch=json'],
  'kubectl patch deployment web2 --subresource=status --type=merge -p \'{"status":{"replicas":1}}\'': [
    'get apps/deployments/status ns=default name=web2', 'patch apps/deployments/status ns=default name=web2 patch=merge',
  ],
  'kubectl cordon node1': ['get nodes ns=- name=node1', 'patch nodes ns=- name=node1 patch=strategic-merge'],
  'kubectl apply -f pod.yaml': [...openApiCore, 'get pods ns=default name=purple', 'create pods ns=default name=-'],
  'kubectl apply -f pod-v2.yaml': [...openApiCore, 'get pods ns=default name=purple', 'openapi v2', 'patch pods ns=default name=purple patch=strategic-merge'],
  'kubectl apply --server-side -f deployment.yaml': ['openapi v3', 'openapi v3 apis/apps/v1', 'patch apps/deployments ns=foo name=api patch=apply'],
  'kubectl create -f secret.yaml': [...openApiCore, 'create secrets ns=default name=-'],
  'kubectl replace -f pod-v2.yaml': [...openApiCore, 'get pods ns=default name=purple', 'update pods ns=default name=purple'],
  'kubectl create namespace dry --dry-run=server': ['create namespaces ns=- name=- dry'],
  'kubectl logs nginx': ['get pods ns=default name=nginx', 'get pods/log ns=default name=nginx long'],
  'kubectl logs x -n y -f --tail=10': ['get pods ns=y name=x', 'get pods/log ns=y name=x long'],
  'kubectl exec nginx -- ls': ['get pods ns=default name=nginx', 'get pods/exec ns=default name=nginx long', 'create pods/exec ns=default name=nginx long'],
  'kubectl describe pod x -n y': ['get pods ns=y name=x', 'get pods ns=y name=x', 'list events ns=y name=-'],
  'kubectl auth can-i create pods': ['discovery api group= v1', 'create authorization.k8s.io/selfsubjectaccessreviews ns=- name=-'],
  'kubectl delete pod nginx': [
    'delete pods ns=default name=nginx', 'get pods ns=default name=nginx', 'list pods ns=default name=nginx', 'watch pods ns=default name=nginx watch long',
  ],
  'kubectl delete pod x -n y --dry-run=server': ['delete pods ns=y name=x'],
  'kubectl delete pods -l run=blue -n foo': [
    'list pods ns=foo name=-', 'delete pods ns=foo name=blue', 'get pods ns=foo name=blue', 'list pods ns=foo name=blue', 'watch pods ns=foo name=blue watch long',
  ],
  'kubectl delete deployment web2': [
    'delete apps/deployments ns=default name=web2', 'get apps/deployments ns=default name=web2',
    'list apps/deployments ns=default name=web2', 'watch apps/deployments ns=default name=web2 watch long',
  ],
  'kubectl delete ns foo': ['delete namespaces ns=- name=foo', 'get namespaces ns=- name=foo', 'list namespaces ns=- name=foo', 'watch namespaces ns=- name=foo watch long'],
  'kubectl get --raw /api/v1/watch/namespaces/default/pods': ['watch pods ns=default name=- watch legacy long'],
  'kubectl get --raw /api/v1/watch/namespaces/y/pods/x': ['watch pods ns=y name=x watch legacy long'],
  'kubectl get --raw \'/api/v1/namespaces/y/pods?watch=1&resourceVersion=0\'': ['watch pods ns=y name=- watch long'],
  'kubectl get --raw /healthz': ['health healthz'],
  'kubectl get --raw \'/readyz?verbose\'': ['health readyz'],
};

function classifyAll(command: RecordedCommand): KubernetesCall[] {
  return command.requests.map((request) => classifyKubernetesRequest({
    method: request.method, path: request.path, query: request.query,
    ...(request.contentType === undefined ? {} : { contentType: request.contentType }),
  }));
}

/** Discovery requests go out in parallel, so their order varies between runs: compare them sorted. */
function normalizeOrder(lines: readonly string[]): string[] {
  const discovery = lines.filter((line) => line.startsWith('discovery')).sort();
  return [...discovery, ...lines.filter((line) => !line.startsWith('discovery'))];
}

function commandNamed(text: string): RecordedCommand {
  const found = fixture.commands.find((command) => command.command === text);
  if (found === undefined) throw new Error(`no recorded command ${text}`);
  return found;
}

function resourceCalls(command: RecordedCommand): { call: KubernetesResourceCall; body: unknown }[] {
  return classifyAll(command).flatMap((call, index) => (call.kind === 'resource' ? [{ call, body: command.requests[index]?.body }] : []));
}

describe('classifying what the real kubectl sends', () => {
  it('has an expectation for every recorded command, and the reverse', () => {
    expect(fixture.commands.map((command) => command.command).sort()).toEqual(Object.keys(expected).sort());
  });

  for (const command of fixture.commands) {
    it(command.command, () => {
      expect(normalizeOrder(classifyAll(command).map(summarize))).toEqual(normalizeOrder(expected[command.command] ?? []));
    });
  }

  it('never finds a recorded request invalid or unknown', () => {
    const kinds = fixture.commands.flatMap(classifyAll).map((call) => call.kind);
    expect(kinds).not.toContain('invalid');
    expect(kinds).not.toContain('other');
  });

  it('names the created object from the body kubectl sends (JSON bodies)', () => {
    const [create] = resourceCalls(commandNamed('kubectl run nginx --image=nginx'));
    if (create === undefined) throw new Error('kubectl run sent no resource request');
    expect(resourceKeyOfCall(create.call, getIn(create.body, ['metadata', 'name']) as string)).toEqual({ app: 'kubernetes', service: 'pods', namespace: 'default', name: 'nginx' });
  });

  it('sees the protobuf bodies kubectl sends for create namespace|secret|deployment (not decoded here)', () => {
    const protobuf = fixture.commands.flatMap((command) => command.requests).filter((request) => request.protobuf === true);
    expect(protobuf.map((request) => request.path)).toContain('/api/v1/namespaces/default/secrets');
    expect(protobuf.every((request) => request.contentType === 'application/vnd.kubernetes.protobuf')).toBe(true);
  });

  it('reads the dry run of a delete from its body, where kubectl puts it', () => {
    const [dry] = commandNamed('kubectl delete pod x -n y --dry-run=server').requests;
    const [wet] = commandNamed('kubectl delete pod nginx').requests;
    expect(deleteOptionsDryRun(dry?.body)).toBe(true);
    expect(deleteOptionsDryRun(wet?.body)).toBe(false);
  });

  it('takes the scope annotation out of the applied manifest and lists its dependencies', () => {
    const create = resourceCalls(commandNamed('kubectl apply -f pod.yaml')).find(({ call }) => call.verb === 'create');
    const taken = takeScopeAnnotation(create?.body);
    expect(taken.scope).toBe('{pods: Site1, secrets: Site2}');
    expect(getIn(taken.body, ['metadata', 'annotations'])).toEqual({
      'kubectl.kubernetes.io/last-applied-configuration': expect.stringContaining('"image":"nginx"') as unknown,
    });
    const dependencies = listKubernetesDependencies(taken.body, { namespace: create?.call.namespace });
    expect(dependencies.map((d) => `${d.kind} ${d.key.service}/${d.key.name}`).sort()).toEqual([
      'composition namespaces/default', 'reliance configmaps/c1', 'reliance secrets/s1',
    ]);
  });

  it('sees a client-side apply remove the annotation with null, and keeps no scope', () => {
    const patch = resourceCalls(commandNamed('kubectl apply -f pod-v2.yaml')).find(({ call }) => call.verb === 'patch');
    const taken = takeScopeAnnotation(patch?.body);
    expect(getIn(patch?.body, ['metadata', 'annotations', 'cheops.io/scope'])).toBeNull();
    expect(taken.scope).toBeUndefined();
    expect(getIn(taken.body, ['metadata', 'annotations'])).not.toHaveProperty(['cheops.io/scope']);
  });
});
