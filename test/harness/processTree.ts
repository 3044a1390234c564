// A process and all its descendants, read from /proc (Linux). Process groups do
// not cover a mesh: PostgreSQL's backends each start a session of their own.
import { readdir, readFile } from "node:fs/promises";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** The command line, arguments joined by spaces (PostgreSQL rewrites its backends' to "postgres: …"). */
  cmdline: string;
  rssMiB: number;
}

async function readProcess(pid: number): Promise<ProcessInfo | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // After the command's closing parenthesis: state ppid …
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const rssMiB = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0) / 1024;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ").trim();
    return { pid, ppid, cmdline, rssMiB };
  } catch {
    return undefined; // gone between the listing and the read
  }
}

/** rootPid and every live descendant of it. */
export async function processTree(rootPid: number): Promise<ProcessInfo[]> {
  const all = (await Promise.all((await readdir("/proc")).filter((e) => /^\d+$/.test(e)).map((e) => readProcess(Number(e))))).filter(
    (p): p is ProcessInfo => p !== undefined,
  );
  const tree = all.filter((p) => p.pid === rootPid);
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]!.pid));
  return tree;
}

/** Which of these pids still run (a zombie counts as gone). */
export async function stillRunning(pids: number[]): Promise<number[]> {
  const alive: number[] = [];
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (stat && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z") alive.push(pid);
  }
  return alive;
}
