/**
 * The end-to-end kubectl suite: the real kubectl (1.32) drives a Kubernetes API over HTTP, in order
 * on one server, as a user's session would. The same cases run against the stand-in served alone
 * (kubectl.test.ts) and through a real site's Cheops front (../passthrough-kubectl.test.ts), which
 * must be invisible to kubectl: bodies, protobuf, patches, watches, editors and errors included.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { kubectlFor, outputUntil, type Kubectl } from './kubectl-harness.js';

/** A Kubernetes API for the suite to drive: the stand-in itself, or a Cheops front before it. */
export interface KubectlTarget {
  /** The server URL kubectl is given. */
  readonly url: string;
  close(): Promise<void>;
}

const deployment = (image: string, replicas = 2): string => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: e2e
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
      - name: api
        image: ${image}
        ports: [{containerPort: 8080}]
        env: [{name: MODE, value: prod}]
`;

/**
 * Registers the suite under `title`; `start` brings the API up before the first case and the
 * target is closed after the last.
 */
export function describeKubectlSuite(title: string, start: () => Promise<KubectlTarget>): void {
  describe(title, () => {
    let target: KubectlTarget | undefined;
    let kubectl: Kubectl;

    beforeAll(async () => {
      target = await start();
      kubectl = await kubectlFor(target.url);
    });

    afterAll(async () => {
      await target?.close();
      await kubectl?.dispose();
    });

    async function ok(...args: string[]): Promise<string> {
      const result = await kubectl.run(args);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
      return result.stdout;
    }

    it('sees a cluster', async () => {
      expect(await ok('version')).toContain('Server Version: v1.32.4');
      expect(await ok('get', 'namespaces')).toMatch(/^NAME\s+STATUS\s+AGE\ndefault\s+Active/m);
    });

    it('creates with the imperative commands (protobuf bodies)', async () => {
      expect(await ok('create', 'namespace', 'e2e')).toBe('namespace/e2e created\n');
      expect(await ok('run', 'solo', '--image=nginx:1.27', '-n', 'e2e', '--labels=role=solo')).toBe('pod/solo created\n');
      expect(await ok('create', 'secret', 'generic', 'creds', '--from-literal=user=admin', '-n', 'e2e')).toBe('secret/creds created\n');
      expect(await ok('create', 'configmap', 'settings', '--from-literal=level=debug', '-n', 'e2e')).toBe('configmap/settings created\n');
      expect(await ok('create', 'service', 'clusterip', 'front', '--tcp=80:8080', '-n', 'e2e')).toBe('service/front created\n');
      expect(await ok('create', 'deployment', 'web', '--image=nginx:1.27', '--replicas=2', '-n', 'e2e')).toBe('deployment.apps/web created\n');
      const secret = JSON.parse(await ok('get', 'secret', 'creds', '-n', 'e2e', '-o', 'json')) as { data: Record<string, string>; type: string };
      expect(secret).toMatchObject({ type: 'Opaque', data: { user: Buffer.from('admin').toString('base64') } });
      expect(await ok('get', 'configmap', 'settings', '-n', 'e2e', '-o', 'jsonpath={.data.level}')).toBe('debug');
    });

    it('runs the pods: deployments report ready, rollouts complete, tables print', async () => {
      expect(await ok('rollout', 'status', 'deployment/web', '-n', 'e2e', '--timeout=20s')).toContain('deployment "web" successfully rolled out');
      expect(await ok('get', 'deployment', 'web', '-n', 'e2e')).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+2\/2\s+2\s+2\s+/);
      const pods = await ok('get', 'pods', '-n', 'e2e', '-l', 'app=web', '-o', 'name');
      expect(pods.trim().split('\n')).toEqual([expect.stringMatching(/^pod\/web-[a-z0-9]+-[a-z0-9]{5}$/), expect.stringMatching(/^pod\/web-/)]);
      expect(await ok('get', 'pod', 'solo', '-n', 'e2e')).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nsolo\s+1\/1\s+Running\s+0\s+/);
      expect(await ok('get', 'pods', '-n', 'e2e', '-l', 'app in (web),role!=solo', '--no-headers')).toMatch(/^(web-\S+\s+1\/1\s+Running.*\n){2}$/);
      expect(await ok('get', 'pods', '-n', 'e2e', '--field-selector', 'metadata.name=solo', '-o', 'name')).toBe('pod/solo\n');
      expect(await ok('get', 'svc', 'front', '-n', 'e2e')).toMatch(/front\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP/);
      const yaml = parseYaml(await ok('get', 'deployment', 'web', '-n', 'e2e', '-o', 'yaml')) as { kind: string; status: { readyReplicas: number } };
      expect(yaml).toMatchObject({ kind: 'Deployment', status: { readyReplicas: 2 } });
      expect(await ok('describe', 'pod', 'solo', '-n', 'e2e')).toMatch(/Status:\s+Running/);
    });

    it('scales', async () => {
      expect(await ok('scale', 'deployment', 'web', '--replicas=3', '-n', 'e2e')).toBe('deployment.apps/web scaled\n');
      await ok('rollout', 'status', 'deployment/web', '-n', 'e2e', '--timeout=20s');
      expect((await ok('get', 'pods', '-n', 'e2e', '-l', 'app=web', '-o', 'name')).trim().split('\n')).toHaveLength(3);
    });

    it('applies: created, configured, unchanged; strict validation on the server', async () => {
      const file = join(kubectl.directory, 'api.yaml');
      await writeFile(file, deployment('nginx:1.26'));
      expect(await ok('apply', '-f', file)).toBe('deployment.apps/api created\n');
      await writeFile(file, deployment('nginx:1.27', 3));
      expect(await ok('apply', '-f', file)).toBe('deployment.apps/api configured\n');
      expect(await ok('apply', '-f', file)).toBe('deployment.apps/api unchanged\n');
      await ok('rollout', 'status', 'deployment/api', '-n', 'e2e', '--timeout=20s');
      expect(await ok('get', 'deployment', 'api', '-n', 'e2e', '-o', 'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}')).toBe('3 nginx:1.27');
      await writeFile(file, deployment('nginx:1.27').replace('image:', 'imagePullPolicyX: Always\n        image:'));
      const strict = await kubectl.run(['apply', '-f', file]);
      expect(strict.code).not.toBe(0);
      expect(strict.stderr).toContain('unknown field "spec.template.spec.containers[0].imagePullPolicyX"');
    });

    it('round-trips a List from get -o yaml (validated on the client with OpenAPI v2)', async () => {
      const file = join(kubectl.directory, 'list.yaml');
      await writeFile(file, await ok('get', 'configmap', 'settings', 'api-copy', '-n', 'e2e', '-o', 'yaml', '--ignore-not-found'));
      await ok('delete', 'configmap', 'settings', '-n', 'e2e');
      expect(await ok('create', '-f', file)).toBe('configmap/settings created\n');
      await writeFile(file, 'apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: typo, namespace: e2e}, dataa: {a: b}}\n');
      const typo = await kubectl.run(['apply', '-f', file]);
      expect(typo.stderr).toContain('unknown field "dataa" in io.k8s.api.core.v1.ConfigMap');
    });

    it('labels and patches (merge, strategic, json)', async () => {
      expect(await ok('label', 'pod', 'solo', 'tier=front', '-n', 'e2e')).toBe('pod/solo labeled\n');
      expect(await ok('get', 'pod', 'solo', '-n', 'e2e', '-o', 'jsonpath={.metadata.labels.tier}')).toBe('front');
      expect(await ok('label', 'pod', 'solo', 'tier-', '-n', 'e2e')).toBe('pod/solo unlabeled\n');
      await ok('patch', 'deployment', 'api', '-n', 'e2e', '--type=merge', '-p', '{"spec":{"replicas":1}}');
      await ok('patch', 'deployment', 'api', '-n', 'e2e', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"api","image":"nginx:1.28"}]}}}}');
      await ok('patch', 'configmap', 'settings', '-n', 'e2e', '--type=json', '-p', '[{"op":"add","path":"/data/extra","value":"1"}]');
      const image = await ok('get', 'deployment', 'api', '-n', 'e2e', '-o', 'jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value}');
      expect(image).toBe('1 nginx:1.28 prod');
      expect(await ok('get', 'configmap', 'settings', '-n', 'e2e', '-o', 'jsonpath={.data.extra}')).toBe('1');
    });

    it('edits through KUBE_EDITOR', async () => {
      const editor = join(kubectl.directory, 'editor.sh');
      await writeFile(editor, '#!/bin/sh\nsed -i "s/level: debug/level: info/" "$1"\n');
      await chmod(editor, 0o755);
      const result = await kubectl.run(['edit', 'configmap', 'settings', '-n', 'e2e'], { env: { KUBE_EDITOR: editor } });
      expect(result.stdout).toBe('configmap/settings edited\n');
      expect(await ok('get', 'configmap', 'settings', '-n', 'e2e', '-o', 'jsonpath={.data.level}')).toBe('info');
    });

    it('watches: get -w prints the change', async () => {
      const watch = kubectl.spawn(['get', 'configmaps', '-n', 'e2e', '-w']);
      try {
        await outputUntil(watch, (output) => output.includes('settings'));
        await ok('create', 'configmap', 'watched', '--from-literal=a=b', '-n', 'e2e');
        expect(await outputUntil(watch, (output) => /watched\s+1\s+\d+s/.test(output))).toMatch(/^NAME\s+DATA\s+AGE\n/);
      } finally {
        watch.child.kill();
      }
    });

    it('errors as a real server does', async () => {
      const missing = await kubectl.run(['get', 'pod', 'ghost', '-n', 'e2e']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe('Error from server (NotFound): pods "ghost" not found\n');
      const duplicate = await kubectl.run(['create', 'configmap', 'settings', '-n', 'e2e']);
      expect(duplicate.stderr).toBe('error: failed to create configmap: configmaps "settings" already exists\n');
      const unknown = await kubectl.run(['get', 'widgets']);
      expect(unknown.stderr).toContain(`error: the server doesn't have a resource type "widgets"`);
      const invalid = await kubectl.run(['create', 'deployment', 'Bad_Name', '--image=x', '-n', 'e2e']);
      expect(invalid.stderr).toContain('is invalid: metadata.name: Invalid value: "Bad_Name"');
      const nowhere = await kubectl.run(['create', 'configmap', 'x', '-n', 'nowhere']);
      expect(nowhere.stderr).toContain('namespaces "nowhere" not found');
    });

    it('deletes: a deployment takes its pods, a namespace its contents', async () => {
      expect(await ok('delete', 'deployment', 'web', '-n', 'e2e')).toBe('deployment.apps "web" deleted\n');
      expect(await ok('get', 'pods', '-n', 'e2e', '-l', 'app=web', '-o', 'name')).toBe('');
      expect(await ok('delete', 'pod', 'solo', '-n', 'e2e')).toBe('pod "solo" deleted\n');
      expect(await ok('delete', 'namespace', 'e2e')).toBe('namespace "e2e" deleted\n');
      const gone = await kubectl.run(['get', 'namespace', 'e2e']);
      expect(gone.stderr).toBe('Error from server (NotFound): namespaces "e2e" not found\n');
      expect(await ok('get', 'all', '-n', 'e2e')).toBe('');
    });
  });
}
