/** Runs the real kubectl once, with a given environment, for tests that need kubectl alone. */
import { execFile } from 'node:child_process';
import { kubectlBinary } from '../standin/kubectl-harness.js';

/** kubectl's exit code and output; never rejects on a failure exit. */
export function runKubectl(args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(kubectlBinary, [...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
  });
}
