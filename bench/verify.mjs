// What `verify: true` adds to a release of a 100 MB image: the same two-platform release
// with verify false and true, alternated, each on a fresh builder; prints the medians and
// the ratio (target: verify adds less than 20 %).
// Run from a shell that sourced the toolchain's env.sh: node bench/verify.mjs
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runAction } from '../scripts/harness.js'

const registry = process.env.CTR_REGISTRY_NOAUTH
const base = process.env.CTR_BASE_IMAGE
if (!registry || !base) throw new Error('CTR_REGISTRY_NOAUTH and CTR_BASE_IMAGE are needed: source the toolchain env.sh first')
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3)
const MB = Number(process.env.BENCH_VERIFY_MB ?? 100)

const work = mkdtempSync(path.join(os.tmpdir(), 'mr-bench-verify-'))
const context = path.join(work, 'project')
mkdirSync(path.join(context, 'payload'), { recursive: true })
// Half random (does not compress), half text-like (compresses as program files do), in 4 MB files.
for (let i = 0; i < MB / 4; i++) {
  const chunk = i % 2 === 0 ? randomBytes(4 << 20) : Buffer.from('x'.repeat(64).concat('\n').repeat((4 << 20) / 65))
  writeFileSync(path.join(context, 'payload', `part-${i}`), chunk)
}
writeFileSync(path.join(context, 'Dockerfile'), `FROM ${base}\nCOPY payload /payload\nRUN uname -m > /arch\n`)

async function once(verify, n) {
  const r = await runAction({
    cwd: work,
    workDir: work,
    eventName: 'workflow_dispatch',
    ref: 'refs/heads/main',
    inputs: { images: `${registry}/bench/verify`, platforms: 'linux/amd64,linux/arm64', version: `7.${n}.${verify ? 1 : 0}`, context, verify: verify ? 'true' : 'false' }
  })
  if (r.main.exitCode !== 0) throw new Error(`run failed:\n${r.log.slice(-3000)}`)
  const phase = /^Verify binaries: (\d+\.\d)s$/m.exec(r.main.stdout)?.[1]
  return { wall: r.main.durationMs + (r.post?.durationMs ?? 0), verifyMs: phase ? Number(phase) * 1000 : 0 }
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const off = []
const on = []
for (let i = 0; i < PAIRS; i++) {
  if (i % 2 === 0) {
    off.push(await once(false, i))
    on.push(await once(true, i))
  } else {
    on.push(await once(true, i))
    off.push(await once(false, i))
  }
}
const a = median(off.map(r => r.wall))
const b = median(on.map(r => r.wall))
const ratio = b / a - 1
// The phase runs after the build, beside the manifest check that every release runs: it adds
// at most its own duration. That bound does not carry the build's noise, which the difference
// of two medians of a few whole releases does.
const phase = median(on.map(r => r.verifyMs))
const bound = phase / a
console.log(`## f) verify: true on a ${MB} MB image (linux/amd64 and linux/arm64, ${PAIRS} pairs, alternated)`)
console.log('')
console.log('| measure | median | target | result |')
console.log('| --- | --- | --- | --- |')
console.log(`| release, verify: false | ${(a / 1000).toFixed(2)} s | | |`)
console.log(`| release, verify: true | ${(b / 1000).toFixed(2)} s | | |`)
console.log(`| of which the Verify binaries phase | ${(phase / 1000).toFixed(1)} s | | |`)
console.log(`| difference of the release medians (build noise included) | ${(ratio * 100).toFixed(1)} % | | |`)
console.log(`| added by verify: at most its phase, against the release without it | ${(bound * 100).toFixed(1)} % | < 20 % | ${bound < 0.2 ? 'pass' : '**FAIL**'} |`)
