// CPU time a process has used so far (user + system, all threads), from Linux
// /proc, in milliseconds. /proc counts in clock ticks, 100 per second on Linux.
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";

const msPerTick = 10;

export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * msPerTick;
}

/** CPU time the whole machine has spent busy so far (all cores; every state but idle and iowait), ms. */
export async function machineCpuMs(): Promise<number> {
  const [cpu] = (await readFile("/proc/stat", "utf8")).split("\n", 1);
  const [user, nice, system, , , irq, softirq, steal] = cpu!.split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) * msPerTick;
}

/** CPU time of every process named `name` (e.g. all of Postgres's backends), ms; a process gone meanwhile counts as 0. */
export async function processesCpuMs(name: string): Promise<number> {
  const pids = execFileSync("pgrep", ["-x", name], { encoding: "utf8" }).trim().split("\n").map(Number);
  const times = await Promise.all(pids.map((pid) => cpuMs(pid).catch(() => 0)));
  return times.reduce((a, b) => a + b, 0);
}
