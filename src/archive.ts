import { createHash } from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { Transform } from 'node:stream'
import * as zlib from 'node:zlib'
import { buildArgs, secretEnv, type BuildPlan } from './build.js'
import type { Docker } from './docker.js'
import type { Inputs } from './inputs.js'
import { platformOutputKey } from './platforms.js'

export type ArchiveFormat = Inputs['archiveFormat']
export type ArchiveCompression = Inputs['archiveCompression']

export const SUMS_FILE = 'SHA256SUMS'
const DEFAULT_CONCURRENCY = 3

/** Output names, written once: action.yml declares the same. */
export const ArchiveOutput = { archives: 'archives' } as const

export function platformArchiveOutput(platform: string): string {
  return `archive-${platformOutputKey(platform)}`
}

const EXTENSIONS: Record<ArchiveCompression, string> = { none: '.tar', gzip: '.tar.gz', zstd: '.tar.zst' }

/**
 * `<image>_<version>_<os>-<arch>[-<variant>].tar[.gz|.zst]`. Both formats are tar files that
 * `docker load` reads, so the format does not show in the name.
 */
export function archiveFileName(image: string, version: string, platform: string, compression: ArchiveCompression): string {
  return `${image.replace(/[/:]/g, '_')}_${version}_${platformOutputKey(platform)}${EXTENSIONS[compression]}`
}

/**
 * BuildKit cannot put index annotations on a single-platform export ("index annotations not
 * supported for single platform export"), so they are dropped from the per-platform builds;
 * an annotation that also targets manifests keeps that part.
 */
export function singlePlatformAnnotations(annotations: string[]): string[] {
  return annotations.flatMap(annotation => {
    const eq = annotation.indexOf('=')
    const key = eq < 0 ? annotation : annotation.slice(0, eq)
    const colon = key.indexOf(':')
    if (colon < 0) return [annotation]
    const bracket = key.indexOf('[')
    const typesEnd = bracket >= 0 && bracket < colon ? bracket : colon
    const types = key.slice(0, typesEnd).split(',')
    const kept = types.filter(t => t !== 'index' && t !== 'index-descriptor')
    if (kept.length === types.length) return [annotation]
    if (kept.length === 0) return []
    return [`${kept.join(',')}${annotation.slice(typesEnd)}`]
  })
}

/** buildx reads --output as one CSV record: a path with a comma or quote must be quoted. */
function csvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field
}

/**
 * The exporter of one platform's archive; its names are the tags docker load gives the image.
 * The layers stay the registry's gzip ones even when the tar is compressed: the image that
 * loads is then the published one, and pushing it on to an internal registry sends compressed
 * layers. Raw layers would let gzip or zstd over the tar save 3-7% more, but docker load keeps
 * them raw and a later push sends them raw (measured: 122 MB instead of 40 MB).
 */
export function archiveOutput(dest: string, format: ArchiveFormat, names: string[]): string {
  const parts = [`type=${format}`]
  if (names.length > 0) parts.push(csvField(`name=${names.join(',')}`))
  parts.push(csvField(`dest=${dest}`))
  return parts.join(',')
}

export function archiveMetadataFile(metadataFile: string, platform: string): string {
  return `${metadataFile.replace(/\.json$/, '')}-archive-${platformOutputKey(platform)}.json`
}

/**
 * The main build's plan narrowed to one platform, writing nowhere but the archive: no push,
 * no second cache export, and nothing (no-cache, pull) that would stop it from reusing the
 * main build's cache. The docker exporter cannot write an index, so the docker format goes
 * without attestations.
 */
export function archivePlan(base: BuildPlan, platform: string, dest: string, format: ArchiveFormat): BuildPlan {
  return {
    ...base,
    platforms: [platform],
    annotations: singlePlatformAnnotations(base.annotations),
    cacheTo: [],
    noCache: false,
    pull: false,
    push: false,
    outputs: [archiveOutput(dest, format, base.tags)],
    provenance: format === 'docker' ? 'false' : base.provenance,
    sbom: format === 'docker' ? 'false' : base.sbom,
    metadataFile: archiveMetadataFile(base.metadataFile, platform)
  }
}

/** argv of one platform's export: the main build's argv (src/build.ts) for that plan. */
export function archiveBuildArgs(base: BuildPlan, platform: string, dest: string, format: ArchiveFormat): string[] {
  return buildArgs(archivePlan(base, platform, dest, format))
}

/** Plain progress whatever the caller's BUILDKIT_PROGRESS, so that uncachedSteps can read it. */
export const ARCHIVE_BUILD_ENV = { BUILDKIT_PROGRESS: 'plain' } as const

/**
 * Dockerfile steps that a build with plain progress ran instead of taking from the cache.
 * FROM is left out: it shows DONE whenever the base is resolved again, which costs nothing.
 */
export function uncachedSteps(progress: string): string[] {
  const names = new Map<string, string>()
  const status = new Map<string, string>()
  for (const line of progress.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line.trimEnd())
    if (!m) continue
    const id = m[1]
    const rest = m[2]
    if (!names.has(id)) {
      names.set(id, rest)
      continue
    }
    if (rest === 'CACHED' || /^DONE\b/.test(rest)) status.set(id, rest === 'CACHED' ? 'cached' : 'done')
  }
  const ran: string[] = []
  for (const [id, name] of names) {
    const step = /^\[[^\]]*\d+\/\d+\] (.*)$/.exec(name)
    if (!step || /^FROM /.test(step[1] ?? '')) continue
    if (status.get(id) === 'done') ran.push(name)
  }
  return ran
}

export interface Sha256Entry {
  file: string
  sha256: string
}

/** The format `sha256sum -c` reads: `<hex>  <name>`, one per line. */
export function sha256sumsText(entries: Sha256Entry[]): string {
  return entries
    .map(({ file, sha256 }) => {
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA-256 hex digest: "${sha256}"`)
      // sha256sum escapes such names with a leading backslash; ours never need it.
      if (/[\\\n\r]/.test(file) || file.includes('/')) throw new Error(`file name unfit for ${SUMS_FILE}: ${JSON.stringify(file)}`)
      return `${sha256}  ${file}\n`
    })
    .join('')
}

/** `archives` and `archive-<platform>` as name → value, for the step outputs. */
export function archiveOutputs(archives: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = { [ArchiveOutput.archives]: JSON.stringify(archives) }
  for (const [platform, file] of Object.entries(archives)) values[platformArchiveOutput(platform)] = file
  return values
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

// @types/node 20 does not declare the zstd streams yet.
const zstdZlib = zlib as { createZstdCompress?: () => Transform }

/** zstd streams are in node:zlib from Node.js 22.15 on; the action's node24 runtime has them. */
export function compressionSupported(compression: ArchiveCompression): boolean {
  return compression !== 'zstd' || typeof zstdZlib.createZstdCompress === 'function'
}

function compressor(compression: Exclude<ArchiveCompression, 'none'>): Transform {
  if (compression === 'gzip') return zlib.createGzip()
  const createZstd = zstdZlib.createZstdCompress
  if (!createZstd) throw new Error(`archive-compression: zstd needs Node.js 22.15 or later, this is ${process.version}`)
  return createZstd()
}

export interface ArchiveOptions {
  /** First image name; the archive names start with it. */
  image: string
  version: string
  format: ArchiveFormat
  compression: ArchiveCompression
  /**
   * Platforms exported at once; BuildKit serves them from one cache. Default 3: a small image's
   * export is mostly session and solve latency, and compression runs beside the next export
   * (bench/archive.mjs on 2 CPUs: 16 MiB 2.1 s to 1.2 s, 121 MiB gzip 6.6 s to 4.7 s).
   */
  concurrency?: number
  /**
   * Where the exports are written before they move into the archive directory; it must lie
   * outside the build context (RUNNER_TEMP). Default: a new directory in the OS temp dir.
   */
  stagingDir?: string
  log?: (line: string) => void
  now?: () => number
}

export interface ArchiveResult {
  /** platform → absolute path of its archive, in the plan's platform order. */
  archives: Record<string, string>
  sumsFile: string
  /** Wall time of all exports, compression and hashing. */
  exportMs: number
  /** platform → Dockerfile steps its export ran again (empty when all came from the cache). */
  rebuilt: Record<string, string[]>
  /** platform → containerimage.digest of the archived image, as buildx reported it. */
  digests: Record<string, string>
}

interface Exported {
  file: string
  staged: string
  sha256: string
  bytes: number
  ms: number
  rebuilt: string[]
  digest: string
}

/**
 * Writes one archive per platform of the plan, and SHA256SUMS beside them, from the builder's
 * cache of the build that just ran with the same plan.
 */
export async function writeArchives(docker: Docker, plan: BuildPlan, dir: string, options: ArchiveOptions): Promise<ArchiveResult> {
  const now = options.now ?? Date.now
  const log = options.log ?? ((): void => undefined)
  if (!compressionSupported(options.compression)) {
    throw new Error(`archive-compression: zstd needs Node.js 22.15 or later, this is ${process.version}`)
  }
  const target = path.resolve(dir)
  const sumsFile = path.join(target, SUMS_FILE)
  // The archive directory may lie inside the build context, so it stays untouched until every
  // export is done: a file (or a new empty directory) there would change the context of the
  // exports still to come, rebuild them, and end up inside their images.
  const staging = fs.mkdtempSync(path.join(options.stagingDir ?? os.tmpdir(), 'archives-'))
  const started = now()

  const exportOne = async (platform: string): Promise<Exported> => {
    const began = now()
    const name = archiveFileName(options.image, options.version, platform, options.compression)
    const staged = path.join(staging, name)
    const dest = options.compression === 'none' ? staged : path.join(staging, `${name}.partial`)
    const args = archiveBuildArgs(plan, platform, dest, options.format)
    const result = await docker.buildx(args, { silent: true, env: { ...secretEnv(plan.secrets), ...ARCHIVE_BUILD_ENV } })
    if (options.compression !== 'none') {
      await pipeline(fs.createReadStream(dest), compressor(options.compression), fs.createWriteStream(staged))
      fs.rmSync(dest)
    }
    return {
      file: path.join(target, name),
      staged,
      sha256: await sha256File(staged),
      bytes: fs.statSync(staged).size,
      ms: now() - began,
      rebuilt: uncachedSteps(result.stderr),
      digest: readDigest(archiveMetadataFile(plan.metadataFile, platform))
    }
  }

  let exported: Exported[]
  try {
    exported = await mapLimit(plan.platforms, Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY), exportOne)
    fs.mkdirSync(target, { recursive: true })
    for (const e of exported) moveFile(e.staged, e.file)
  } finally {
    fs.rmSync(staging, { recursive: true, force: true })
  }
  fs.writeFileSync(sumsFile, sha256sumsText(exported.map(e => ({ file: path.basename(e.file), sha256: e.sha256 }))))
  const exportMs = now() - started

  const result: ArchiveResult = { archives: {}, sumsFile, exportMs, rebuilt: {}, digests: {} }
  plan.platforms.forEach((platform, i) => {
    const e = exported[i]
    result.archives[platform] = e.file
    result.rebuilt[platform] = e.rebuilt
    result.digests[platform] = e.digest
    log(`${platform}  ${path.basename(e.file)}  ${formatBytes(e.bytes)}  ${seconds(e.ms)}${e.digest ? `  manifest ${e.digest}` : ''}`)
  })
  log(`exported ${plan.platforms.length} ${options.format} archive(s), compression ${options.compression}, in ${seconds(exportMs)} to ${target}`)
  return result
}

/** rename, or copy where the staging directory is on another file system. */
function moveFile(from: string, to: string): void {
  try {
    fs.renameSync(from, to)
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e
    fs.copyFileSync(from, to)
    fs.rmSync(from)
  }
}

function readDigest(metadataFile: string): string {
  try {
    const digest = (JSON.parse(fs.readFileSync(metadataFile, 'utf8')) as Record<string, unknown>)['containerimage.digest']
    return typeof digest === 'string' ? digest : ''
  } catch {
    return ''
  }
}

/** Runs fn over items, at most limit at a time; after a failure it starts no more and waits for the running ones. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length)
  let next = 0
  let failed = false
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++
      try {
        results[i] = await fn(items[i])
      } catch (e: unknown) {
        failed = true
        throw e
      }
    }
  }
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker))
  const rejected = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')
  if (rejected) throw rejected.reason
  return results
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes / 1024
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return `${value.toFixed(1)} ${units[unit]}`
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}
