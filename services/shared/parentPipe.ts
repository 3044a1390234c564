// `npm start` hands each child a pipe on stdin and names it in this variable
// (internal to the launcher, not configuration). The pipe closes when the
// launcher exits, a SIGKILL included; the child then stops as on SIGTERM
// rather than living on as an orphan with its port bound.
export const parentPipeVariable = "ONERING_PARENT_PIPE";

/** `beforeStop` runs first, e.g. to stop logging: stdout went with the launcher. */
export function stopWhenParentGoes(beforeStop: () => void, env: NodeJS.ProcessEnv = process.env): void {
  if (env[parentPipeVariable] !== "stdin") return;
  process.stdin.on("data", () => undefined);
  process.stdin.once("end", () => {
    beforeStop();
    process.kill(process.pid, "SIGTERM");
  });
}
