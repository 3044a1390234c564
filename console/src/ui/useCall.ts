// Runs a gateway call for a page: its result, its failure as a Problem, a
// reload, and an optional refresh interval (the overview's 5 s).
import { useCallback, useEffect, useState } from "preact/hooks";
import { problemOf, type Problem } from "../api.js";

export function useCall<T>(call: () => Promise<T>, deps: unknown[], refreshMs?: number) {
  const [data, setData] = useState<T>();
  const [problem, setProblem] = useState<Problem>();
  const load = useCallback(async () => {
    try {
      setData(await call());
      setProblem(undefined);
    } catch (err) {
      setProblem(problemOf(err));
    }
  }, deps);
  useEffect(() => {
    void load();
    if (refreshMs === undefined) return;
    const timer = setInterval(() => void load(), refreshMs);
    return () => clearInterval(timer);
  }, [load]);
  return { data, problem, reload: load };
}

/** Wraps an action so its failure shows as a Problem and its success can say something. */
export function useAction() {
  const [problem, setProblem] = useState<Problem>();
  const [busy, setBusy] = useState(false);
  const run = async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    try {
      const result = await action();
      setProblem(undefined);
      return result;
    } catch (err) {
      setProblem(problemOf(err));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { run, problem, busy };
}
