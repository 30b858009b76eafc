import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

const root = path.resolve(import.meta.dirname, '..', '..')

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const full = path.join(dir, name)
    if (fs.statSync(full).isFile()) out[name] = fs.readFileSync(full, 'utf8')
  }
  return out
}

describe('dist/', () => {
  test('is exactly what src/ bundles to (no stale, missing or extra file)', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-check-'))
    try {
      execFileSync(process.execPath, [path.join(root, 'scripts', 'build.js'), out], { cwd: root, stdio: 'pipe' })
      const built = files(out)
      const committed = files(path.join(root, 'dist'))
      expect(Object.keys(committed).sort()).toEqual(Object.keys(built).sort())
      for (const name of Object.keys(built)) {
        // A plain boolean keeps a multi-megabyte diff out of the failure message.
        expect({ file: name, same: committed[name] === built[name] }).toEqual({ file: name, same: true })
      }
    } finally {
      fs.rmSync(out, { recursive: true, force: true })
    }
  }, 120_000)
})
