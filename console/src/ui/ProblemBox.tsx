// A failed call as the contract states it: reason, message and what to do.
import type { Problem } from "../api.js";

export function ProblemBox({ problem }: { problem: Problem | undefined }) {
  if (!problem) return null;
  return (
    <div class="problem" role="alert">
      <strong>{problem.reason}</strong>: {problem.message}
      {problem.recovery && <p class="recovery">{problem.recovery}</p>}
    </div>
  );
}
