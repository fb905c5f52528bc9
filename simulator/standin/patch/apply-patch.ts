/**
 * Applies a PATCH body of one of the patch types the API server accepts, mapping failures to the
 * answers it gives (400 for a malformed patch, 422 for a JSON patch that does not apply).
 *
 * Server-side apply (`application/apply-patch+yaml`, `kubectl apply --server-side`) is served
 * without field ownership: the applied configuration is merged as a strategic merge patch is
 * (lists merged by their keys, containers by name), and nothing tracks which manager set which
 * field. So an apply never conflicts (no 409 to `--force-conflicts` past), a field dropped from the
 * applied configuration is kept rather than removed, and `managedFields` is not written. What the
 * stand-in is for, a real kubectl making and changing objects through Cheops, needs none of those.
 */
import { ApiError, badRequest, StatusReason } from '../errors.js';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.js';
import { applyJsonPatch, applyMergePatch, JsonPatchError } from './json-patches.js';
import { applyStrategicMergePatch, StrategicPatchError } from './strategic-merge.js';

export const PatchType = {
  Json: 'application/json-patch+json',
  Merge: 'application/merge-patch+json',
  Strategic: 'application/strategic-merge-patch+json',
  Apply: 'application/apply-patch+yaml',
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

/** The patch types served. */
export const patchTypes: readonly PatchType[] = [PatchType.Json, PatchType.Merge, PatchType.Strategic, PatchType.Apply];

/** A 422 worded as apiserver's NewGenericServerResponse does for unprocessable patches. */
function unprocessable(message: string): ApiError {
  return new ApiError(422, StatusReason.Invalid, 'the server rejected our request due to an error in our request', {
    causes: [{ reason: 'UnexpectedServerResponse', message, field: '' }],
  });
}

/** Applies `patch` (already parsed JSON) of `patchType` to `target`, an object of `schema`. */
export function applyPatch(patchType: PatchType, target: JsonObject, patch: JsonValue, schema: string): JsonObject {
  let result: JsonValue;
  try {
    if (patchType === PatchType.Json) result = applyJsonPatch(target, patch);
    else if (!isJsonObject(patch)) throw badRequest(`error decoding patch: json: cannot unmarshal ${Array.isArray(patch) ? 'array' : typeof patch} into Go value of type map[string]interface {}`);
    else if (patchType === PatchType.Merge) result = applyMergePatch(target, patch);
    else result = applyStrategicMergePatch(target, patch, schema);
  } catch (error) {
    if (error instanceof JsonPatchError) throw unprocessable(error.message);
    if (error instanceof StrategicPatchError) throw error.unprocessable ? unprocessable(error.message) : badRequest(error.message);
    throw error;
  }
  if (!isJsonObject(result)) throw badRequest('the patched object is not a JSON object');
  return result;
}
