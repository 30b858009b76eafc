// Bundles src/ into an output directory (dist/ by default):
//   node scripts/build.js [DIR]
// ncc minifies only the entry file; the chunks it splits off (the main step, the post step,
// the REST client, undici) are minified here the same way, so the whole bundle stays small.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { minify } from 'terser'
import { invokedDirectly } from './invoked.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export async function build(out) {
  // ncc adds to the directory; a chunk that a change no longer makes must not stay behind.
  rmSync(out, { recursive: true, force: true })
  execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'ncc'), ['build', 'src/index.ts', '-o', out, '--minify', '--license', 'licenses.txt', '--quiet'], {
    cwd: repoRoot,
    stdio: 'inherit'
  })
  for (const name of readdirSync(out)) {
    if (!/^\d+\.index\.js$/.test(name)) continue
    const file = path.join(out, name)
    const result = await minify(readFileSync(file, 'utf8'), { module: true, ecma: 2022, compress: true, mangle: true, format: { comments: false } })
    writeFileSync(file, result.code)
  }
}

if (invokedDirectly(import.meta.url)) {
  await build(path.resolve(process.argv[2] ?? path.join(repoRoot, 'dist')))
}
