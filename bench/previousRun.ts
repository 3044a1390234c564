// The run a new RESULTS.md replaces, kept beside it: its date, machine line
// and each section's headline figures (the bold "- …" lines), so one file shows
// what changed without digging through git history.
const ownHeading = "## The run this one replaced";

export function previousRunSection(previous: string | undefined): string[] {
  if (previous === undefined) return [];
  const lines = previous.split("\n");
  const end = lines.indexOf(ownHeading);
  const written = lines.find((l) => l.startsWith("Written by"))?.match(/on (\S+?)\.? Medians/)?.[1] ?? "an unknown date";
  const machine = lines.find((l) => l.startsWith("- machine:"));
  const out = ["", ownHeading, "", `Headline figures of the run written on ${written}${machine ? ` (${machine.slice(2)})` : ""}:`];
  let section: string | undefined;
  for (const line of end < 0 ? lines : lines.slice(0, end)) {
    if (line.startsWith("## ")) section = line.slice(3);
    else if (section !== undefined && line.startsWith("- ") && line.includes("**")) {
      out.push(`- ${section}: ${line.slice(2)}`);
    }
  }
  return out.length > 4 ? out : [];
}
