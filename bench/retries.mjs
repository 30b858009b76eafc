// The cost of surviving a flaky registry: the same two-platform release pushed through a
// proxy in front of the toolchain's registry, clean and with two 503 answers to the index
// read, alternated; prints the medians, the time the retries waited, and the ratio.
// Run from a shell that sourced the toolchain's env.sh: node bench/retries.mjs
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { runAction } from '../scripts/harness.js'
import { RegistryProxy } from '../scripts/registry-proxy.js'

const upstream = process.env.CTR_REGISTRY_NOAUTH
const base = process.env.CTR_BASE_IMAGE
if (!upstream || !base) throw new Error('CTR_REGISTRY_NOAUTH and CTR_BASE_IMAGE are needed: source the toolchain env.sh first')
const PAIRS = Number(process.env.BENCH_PAIRS ?? 3)

const work = mkdtempSync(path.join(os.tmpdir(), 'mr-bench-retries-'))
const context = path.join(work, 'project')
mkdirSync(context)
writeFileSync(path.join(context, 'Dockerfile'), `FROM ${base}\nRUN uname -m > /arch\n`)

const indexRead = r => (r.method === 'GET' || r.method === 'HEAD') && /\/manifests\/sha256:[0-9a-f]{64}$/.test(r.url) && !r.userAgent.startsWith('buildkit/')

async function once(faulty, n) {
  const proxy = await new RegistryProxy(upstream, faulty ? [{ match: indexRead, times: 2, status: 503 }] : []).start()
  try {
    const r = await runAction({
      cwd: work,
      workDir: work,
      eventName: 'workflow_dispatch',
      ref: 'refs/heads/main',
      inputs: { images: `${proxy.host}/bench/retries`, platforms: 'linux/amd64,linux/arm64', version: `9.${n}.${faulty ? 1 : 0}`, context, retries: 3 }
    })
    if (r.main.exitCode !== 0) throw new Error(`run failed:\n${r.log.slice(-3000)}`)
    const waited = r.log
      .split('\n')
      .map(l => /; retry \d+ of \d+ in (\d+\.\d)s/.exec(l)?.[1])
      .filter(Boolean)
      .reduce((sum, s) => sum + Number(s) * 1000, 0)
    return { wall: r.main.durationMs + (r.post?.durationMs ?? 0), waited, faults: proxy.faulted.length }
  } finally {
    await proxy.close()
  }
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const clean = []
const faulty = []
for (let i = 0; i < PAIRS; i++) {
  // Alternate which side goes first, so drift in the machine's load hits both.
  if (i % 2 === 0) {
    clean.push(await once(false, i))
    faulty.push(await once(true, i))
  } else {
    faulty.push(await once(true, i))
    clean.push(await once(false, i))
  }
}
const c = median(clean.map(r => r.wall))
const f = median(faulty.map(r => r.wall))
const w = median(faulty.map(r => r.waited))
console.log(`## d) Retries: two 503s on the index read against a clean run (${PAIRS} pairs, alternated)`)
console.log('')
console.log('| measure | median |')
console.log('| --- | --- |')
console.log(`| clean release (main + post) | ${(c / 1000).toFixed(2)} s |`)
console.log(`| release with two 503s on the index read | ${(f / 1000).toFixed(2)} s |`)
console.log(`| of which waiting between retries | ${(w / 1000).toFixed(2)} s |`)
console.log(`| faulty / clean | ${(f / c).toFixed(2)} |`)
console.log(`| 503 answers per faulty run | ${faulty.map(r => r.faults).join(', ')} |`)
