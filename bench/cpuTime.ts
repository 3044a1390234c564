// CPU time a process has used so far (user + system, all threads), from Linux
// /proc, in milliseconds. /proc counts in clock ticks, 100 per second on Linux.
import { readFile } from "node:fs/promises";

const msPerTick = 10;

export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * msPerTick;
}
