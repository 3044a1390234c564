/** Builds the web console into outDir (default console-dist/ at the repository root). */
export function buildConsole(outDir?: string): Promise<void>;
