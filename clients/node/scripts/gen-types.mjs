// Generate the TypeScript types of the bundled protos into types/generated with
// @grpc/proto-loader's proto-loader-gen-types, using the same loader options as src/index.js.
//
//   node scripts/gen-types.mjs           regenerate (npm run gen-types)
//   node scripts/gen-types.mjs --check   exit 1 when types/generated differs (run by npm test)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, cpSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const protos = join(here, 'protos');
const target = join(here, 'types', 'generated');
const require = createRequire(import.meta.url);
const generator = join(
  dirname(require.resolve('@grpc/proto-loader/package.json')),
  'build/bin/proto-loader-gen-types.js',
);

function walk(dir) {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    })
    .sort();
}

// The proto files to type: ours and google.rpc (google/protobuf come in as imports).
const inputs = walk(protos)
  .map((p) => relative(protos, p))
  .filter((p) => p.startsWith('ibbroker/') || p.startsWith('google/rpc/'));

function generate(outDir) {
  execFileSync(
    process.execPath,
    [
      generator,
      '--keepCase',
      '--longs=String',
      '--enums=String',
      '--defaults',
      '--oneofs',
      '--includeComments',
      '--grpcLib=@grpc/grpc-js',
      '-I', '.',
      '-O', outDir,
      ...inputs,
    ],
    { cwd: protos, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  // The generated files import each other without extensions, which TypeScript's NodeNext
  // resolution allows in CommonJS only; they hold types only, so their module kind is moot.
  writeFileSync(join(outDir, 'package.json'), '{\n  "type": "commonjs"\n}\n');
}

const tmp = mkdtempSync(join(tmpdir(), 'ibbroker-types-'));
try {
  generate(tmp);
  if (process.argv.includes('--check')) {
    const want = new Map(walk(tmp).map((p) => [relative(tmp, p), readFileSync(p, 'utf8')]));
    let have = new Map();
    try {
      have = new Map(walk(target).map((p) => [relative(target, p), readFileSync(p, 'utf8')]));
    } catch {
      // no types/generated yet: everything drifts
    }
    const drift = [...new Set([...want.keys(), ...have.keys()])]
      .filter((name) => want.get(name) !== have.get(name))
      .sort();
    for (const name of drift) {
      console.error(`type drift: types/generated/${name} is not what the protos generate`);
    }
    if (drift.length) {
      console.error('run `npm run gen-types` in clients/node and commit the result');
      process.exit(1);
    }
    console.log(`types: ${want.size} generated files match the protos`);
  } else {
    rmSync(target, { recursive: true, force: true });
    cpSync(tmp, target, { recursive: true });
    console.log(`generated ${walk(target).length} files into types/generated`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
