// What the archive input costs next to the build it comes from: `node bench/archive.mjs` from a
// shell that sourced the toolchain's env.sh (CTR_BASE_IMAGE; CTR_REGISTRY_NOAUTH to push).
//
// One three-platform build (FROM the base, COPY a payload, RUN uname -m) on a fresh
// docker-container builder, pushed when a registry is set; then the export path of
// src/archive.ts for each variant: one `buildx build --platform P --output type=...,dest=...`
// per platform with the same arguments on the same builder, the tar compressed with node:zlib
// when asked, and every archive hashed for SHA256SUMS. Prints build time and export time side
// by side, with their ratio.
//
// Knobs: BENCH_RUNS (runs per variant, default 3), BENCH_PAYLOAD (directory copied into the
// image; default the typescript package's lib, ~23 MB of JavaScript), BENCH_KEEP=1 (keep the
// work directory).
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { cpSync, createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'

const env = process.env
const RUNS = Number.isInteger(Number(env.BENCH_RUNS)) && Number(env.BENCH_RUNS) > 0 ? Number(env.BENCH_RUNS) : 3
const PLATFORMS = ['linux/amd64', 'linux/arm64', 'linux/arm/v7']
const BASE = env.CTR_BASE_IMAGE
const REGISTRY = env.CTR_REGISTRY_NOAUTH || ''

if (!BASE) {
  console.error('CTR_BASE_IMAGE is not set: source the toolchain env.sh first (or set it to a three-platform base image).')
  process.exit(2)
}

const zstdAvailable = typeof zlib.createZstdCompress === 'function'

/**
 * The variants: format, tar compression, platforms exported at once. rawLayers is the design
 * src/archive.ts does not use (raw layers inside a compressed tar), kept here for its sizes.
 */
const VARIANTS = [
  { format: 'docker', compression: 'none', concurrency: 1 },
  { format: 'docker', compression: 'none', concurrency: 3 },
  { format: 'oci', compression: 'none', concurrency: 1 },
  { format: 'docker', compression: 'gzip', concurrency: 1 },
  { format: 'docker', compression: 'gzip', concurrency: 3 },
  { format: 'docker', compression: 'gzip', concurrency: 1, rawLayers: true },
  ...(zstdAvailable
    ? [
        { format: 'docker', compression: 'zstd', concurrency: 1 },
        { format: 'docker', compression: 'zstd', concurrency: 1, rawLayers: true }
      ]
    : [])
]

function run(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => (stdout += d))
    child.stderr.on('data', d => (stderr += d))
    child.on('error', reject)
    child.on('close', code => {
      if (code === 0 || options.allowFailure) resolve({ code, stdout, stderr })
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${stderr.split('\n').slice(-15).join('\n')}`))
    })
  })
}

async function timed(fn) {
  const started = performance.now()
  const value = await fn()
  return { ms: performance.now() - started, value }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

function fmtMs(ms) {
  return ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`
}

function fmtBytes(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

/** Dockerfile steps a plain-progress build ran rather than took from the cache (FROM aside). */
function uncachedSteps(progress) {
  const names = new Map()
  const status = new Map()
  for (const line of progress.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line.trimEnd())
    if (!m) continue
    if (!names.has(m[1])) names.set(m[1], m[2])
    else if (m[2] === 'CACHED') status.set(m[1], 'cached')
    else if (/^DONE\b/.test(m[2])) status.set(m[1], 'done')
  }
  return [...names].filter(([id, name]) => /^\[[^\]]*\d+\/\d+\] (?!FROM )/.test(name) && status.get(id) === 'done').map(([, name]) => name)
}

async function sha256File(file) {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk)
  return hash.digest('hex')
}

function mapLimit(items, limit, fn) {
  const results = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i])
    }
  }
  return Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker)).then(() => results)
}

const EXT = { none: '.tar', gzip: '.tar.gz', zstd: '.tar.zst' }

async function exportArchives(ctx, variant, dir) {
  mkdirSync(dir, { recursive: true })
  const one = async platform => {
    const key = platform.replace(/\//g, '-')
    const file = path.join(dir, `app_1.2.3_${key}${EXT[variant.compression]}`)
    const dest = variant.compression === 'none' ? file : path.join(dir, `.${key}.partial`)
    const output = [`type=${variant.format}`, `"name=${ctx.refs.join(',')}"`, `dest=${dest}`]
    if (variant.rawLayers) output.push('compression=uncompressed', 'force-compression=true')
    const attestations = variant.format === 'docker' ? ['--provenance=false', '--sbom=false'] : []
    const r = await run('docker', [
      'buildx', 'build', '--builder', ctx.builder, '--platform', platform,
      ...attestations,
      '--output', output.join(','),
      '--metadata-file', path.join(dir, `.${key}.metadata.json`),
      '--', ctx.context
    ], { env: { ...ctx.env, BUILDKIT_PROGRESS: 'plain' } })
    if (dest !== file) {
      const compressor = variant.compression === 'gzip' ? zlib.createGzip() : zlib.createZstdCompress()
      await pipeline(createReadStream(dest), compressor, createWriteStream(file))
      rmSync(dest)
    }
    await sha256File(file)
    return { bytes: statSync(file).size, rebuilt: uncachedSteps(r.stderr) }
  }
  return mapLimit(PLATFORMS, variant.concurrency, one)
}

async function main() {
  const work = mkdtempSync(path.join(os.tmpdir(), 'archive-bench-'))
  const dockerConfig = path.join(work, 'docker-config')
  mkdirSync(dockerConfig)
  const builder = `archive-bench-${randomBytes(4).toString('hex')}`
  const ctx = { builder, env: { DOCKER_CONFIG: dockerConfig }, context: path.join(work, 'context'), refs: [] }

  const payload = env.BENCH_PAYLOAD || path.dirname(createRequire(import.meta.url).resolve('typescript'))
  mkdirSync(ctx.context)
  cpSync(payload, path.join(ctx.context, 'app'), { recursive: true })
  writeFileSync(
    path.join(ctx.context, 'Dockerfile'),
    [`FROM ${BASE}`, 'COPY app /app', `RUN uname -m > /arch && echo ${randomBytes(4).toString('hex')} > /nonce`, 'CMD ["cat", "/arch"]', ''].join('\n')
  )
  const image = `${REGISTRY || 'bench.invalid'}/bench/archive-${randomBytes(4).toString('hex')}`
  ctx.refs = [`${image}:1.2.3`, `${image}:latest`]

  const started = performance.now()
  try {
    await run('docker', ['buildx', 'create', '--name', builder, '--driver', 'docker-container', '--driver-opt', 'network=host', '--bootstrap'], { env: ctx.env })
    const buildArgs = ['buildx', 'build', '--builder', builder, '--platform', PLATFORMS.join(','), ...ctx.refs.flatMap(ref => ['--tag', ref]), ...(REGISTRY ? ['--push'] : []), '--', ctx.context]
    const build = await timed(() => run('docker', buildArgs, { env: ctx.env }))
    const cached = await timed(() => run('docker', buildArgs, { env: ctx.env }))

    const rows = []
    for (const variant of VARIANTS) {
      const times = []
      let last
      for (let i = 0; i < RUNS; i++) {
        const dir = path.join(work, 'out', `${variant.format}-${variant.compression}-${variant.concurrency}-${variant.rawLayers ? 'raw' : 'as-pushed'}-${i}`)
        const r = await timed(() => exportArchives(ctx, variant, dir))
        times.push(r.ms)
        last = r.value
        rmSync(dir, { recursive: true, force: true })
      }
      rows.push({ variant, ms: median(times), min: Math.min(...times), max: Math.max(...times), bytes: last.reduce((n, a) => n + a.bytes, 0), rebuilt: last.flatMap(a => a.rebuilt) })
    }

    const docker = (await run('docker', ['version', '--format', '{{.Server.Version}}'], { allowFailure: true })).stdout.trim()
    const buildx = (await run('docker', ['buildx', 'version'], { allowFailure: true })).stdout.trim()
    const payloadBytes = Number((await run('du', ['-sb', path.join(ctx.context, 'app')])).stdout.split('\t')[0])
    console.log(`## e) Archive export vs build (${new Date().toISOString()})`)
    console.log('')
    console.log(`- ${os.cpus().length} CPUs, node ${process.version}, engine ${docker || '?'}, ${buildx}`)
    console.log(`- image: FROM ${BASE}, COPY ${fmtBytes(payloadBytes)} payload, RUN uname -m; platforms ${PLATFORMS.join(', ')} (arm ones under QEMU)`)
    console.log(`- build (cold builder cache${REGISTRY ? ', with --push' : ', no output'}): ${fmtMs(build.ms)}; the same build again, all cached: ${fmtMs(cached.ms)}`)
    console.log(`- each export: median of ${RUNS} runs (min–max); ratio = export / cold build${zstdAvailable ? '' : `; zstd left out: node ${process.version} has no zstd in node:zlib`}`)
    console.log('')
    console.log('| format | compression | layers inside | at once | build | export | min–max | export/build | 3 archives | steps rebuilt |')
    console.log('|---|---|---|---|---|---|---|---|---|---|')
    for (const r of rows) {
      console.log(
        `| ${r.variant.format} | ${r.variant.compression} | ${r.variant.rawLayers ? 'raw (not used)' : 'as pushed'} | ${r.variant.concurrency} | ${fmtMs(build.ms)} | ${fmtMs(r.ms)} | ${fmtMs(r.min)}–${fmtMs(r.max)} | ${(r.ms / build.ms).toFixed(2)} | ${fmtBytes(r.bytes)} | ${r.rebuilt.length === 0 ? 'none' : r.rebuilt.join('; ')} |`
      )
    }
    console.log('')
    console.log(`whole benchmark: ${fmtMs(performance.now() - started)}`)
  } finally {
    await run('docker', ['buildx', 'rm', '--force', builder], { env: ctx.env, allowFailure: true })
    if (env.BENCH_KEEP === '1') console.error(`work directory kept: ${work}`)
    else rmSync(work, { recursive: true, force: true })
  }
}

main().catch(e => {
  console.error(e instanceof Error ? e.message : e)
  process.exit(1)
})
