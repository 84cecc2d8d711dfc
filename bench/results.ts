/** Writes one benchmark's section of bench/RESULTS.md, keeping the other sections as they are. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

/** `section` must start with `<!-- name:start -->` and end with `<!-- name:end -->`. */
export function writeResultsSection(name: string, section: string): void {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmarks\n\n';
  const pattern = new RegExp(`<!-- ${name}:start -->[\\s\\S]*?<!-- ${name}:end -->\\n?`);
  writeFileSync(
    RESULTS,
    pattern.test(current)
      ? current.replace(pattern, section)
      : `${current.trimEnd()}\n\n${section}`,
  );
}
