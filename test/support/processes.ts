/**
 * Which processes a test's process started, read from Linux's /proc, so that a test can check by
 * pid that nothing was left running.
 */
import { readdir, readFile } from 'node:fs/promises';

/** The pids of `pid`'s direct children (all its threads'), empty when it has exited. */
export async function childPids(pid: number): Promise<number[]> {
  let tasks: string[];
  try {
    tasks = await readdir(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children = await Promise.all(
    tasks.map((task) => readFile(`/proc/${pid}/task/${task}/children`, 'utf8').catch(() => '')),
  );
  return children.flatMap((text) => text.split(' ').filter((word) => word.trim() !== '').map(Number));
}

/** The command line of a running process, words joined by spaces; undefined once it has gone. */
export async function commandLine(pid: number): Promise<string | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? undefined : raw.split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/**
 * Whether `pid` still runs. A zombie (exited, not yet reaped by its parent) counts as gone: it
 * runs nothing and holds no port.
 */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the command name, which is in parentheses and may hold spaces.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
