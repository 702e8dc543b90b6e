// Documents that cite tests must cite tests that exist: a renamed or deleted test makes
// the threat model's claim unsupported, so this fails until the document is corrected.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

test('every test file and test name the threat model cites exists', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'threat-model.md'), 'utf8');
  const rows = doc.split('\n').filter((l) => /^\| T\d+ \|/.test(l));
  expect(rows.length).toBeGreaterThanOrEqual(19);
  const missing: string[] = [];
  for (const row of rows) {
    const cell = row.split('|').at(-2)!;
    for (const citation of cell.split(';').map((c) => c.trim())) {
      const m = /^([\w./-]+\.test\.ts)(?: › (.+?))?(?: \(.*\))?$/.exec(citation);
      if (!m) continue; // prose ("docs only", "Not verifiable here: …")
      const file = join(ROOT, 'test', m[1]!);
      if (!existsSync(file)) {
        missing.push(m[1]!);
        continue;
      }
      const source = readFileSync(file, 'utf8');
      // Several names are separated by ", "; "…" stands for any text within one name.
      for (const name of (m[2] ?? '').split(', ').filter(Boolean)) {
        const parts = name.split('…').map((p) => p.trim()).filter(Boolean);
        let at = 0;
        for (const part of parts) {
          at = source.indexOf(part, at);
          if (at < 0) break;
        }
        if (at < 0) missing.push(`${m[1]} › ${name}`);
      }
    }
  }
  expect(missing).toEqual([]);
});
