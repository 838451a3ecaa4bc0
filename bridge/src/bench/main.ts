// npm run bench [-- suite ...]: runs the bench suites (all, or those named) and prints one line per figure.
import { benchSuites } from './suites.js';
import type { BenchFigure } from './types.js';

function format(f: BenchFigure): string {
  const value = `${f.value.toPrecision(4)} ${f.unit}`;
  const ratio = f.baseline ? `  (${(f.value / f.baseline.value).toFixed(3)}x ${f.baseline.name} = ${f.baseline.value.toPrecision(4)} ${f.unit})` : '';
  const target = f.target ? `  target ${f.target}` : '';
  return `  ${f.name}: ${value}${ratio}${target}`;
}

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !benchSuites.some((s) => s.name === w));
if (unknown.length > 0) {
  console.error(`unknown bench suite(s): ${unknown.join(', ')}; known: ${benchSuites.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
for (const suite of benchSuites.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
  console.log(`${suite.name} — ${suite.description}`);
  await suite.run((figure) => console.log(format(figure)));
}
