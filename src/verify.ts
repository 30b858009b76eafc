import { randomBytes } from 'node:crypto'
import * as path from 'node:path'
import { pipeline } from 'node:stream'
import * as zlib from 'node:zlib'
import type { Docker } from './docker.js'
import { tail } from './errors.js'
import { formatPlatform, normalizePlatform, splitPlatform, type Platform } from './platforms.js'
import { mapLimit } from './preflight.js'
import { isObject, excerpt } from './json.js'
import { clientFor, parseImageRef, type RegistryClient, type RegistryOptions } from './registry.js'

// ---------------------------------------------------------------------------------------------
// Manifest check: each platform's config says the platform its index entry claims

export interface ConfigCheck {
  platform: string
  digest: string
  /** os/architecture[/variant] from the image config; '' when no config was returned. */
  config: string
  ok: boolean
}

export interface ManifestCheck {
  ok: boolean
  checks: ConfigCheck[]
  /** One sentence per mismatch. */
  problems: string[]
}

/**
 * Compares `docker buildx imagetools inspect --format '{{json .Image}}' <image>@<indexDigest>`
 * with the platform digests read from the index. buildx prints a map from each index entry's
 * platform to that entry's config when the index has several platforms, and the bare config
 * when it has one (also for a plain manifest).
 */
export function checkConfigs(imageJson: string, digests: Record<string, string>): ManifestCheck {
  let doc: unknown
  try {
    doc = JSON.parse(imageJson)
  } catch {
    throw new Error(`imagetools printed no JSON image config: ${excerpt(imageJson)}`)
  }
  if (!isObject(doc)) throw new Error(`imagetools printed no image config: ${excerpt(imageJson)}`)
  const platforms = Object.keys(digests)
  let configs: Record<string, unknown>
  if (typeof doc.architecture === 'string') {
    if (platforms.length !== 1) {
      throw new Error(`imagetools printed a single image config, but ${platforms.length} platforms were pushed (${platforms.join(', ')})`)
    }
    configs = { [platforms[0]!]: doc }
  } else {
    configs = Object.fromEntries(Object.entries(doc).map(([k, v]) => [key(k), v]))
  }
  const checks = platforms.map(platform => {
    const config = configs[key(platform)]
    const found = isObject(config) && typeof config.os === 'string' && typeof config.architecture === 'string'
      ? formatPlatform(normalizePlatform({ os: config.os, architecture: config.architecture, ...(typeof config.variant === 'string' && config.variant ? { variant: config.variant } : {}) }))
      : ''
    return { platform, digest: digests[platform]!, config: found, ok: found === key(platform) }
  })
  const problems = checks
    .filter(c => !c.ok)
    .map(c =>
      c.config
        ? `${c.platform} (${c.digest}) is an image whose config says ${c.config}: the index entry names the wrong platform`
        : `${c.platform} (${c.digest}) has no image config in the index`
    )
  return { ok: problems.length === 0, checks, problems }
}


/**
 * Every platform's config must match its index entry. Read over the registry API in
 * parallel (a manifest and a config blob per platform): imagetools' templated output
 * needs several times as long as the raw index read it follows.
 */
export async function manifestCheck(image: string, digests: Record<string, string>, options: RegistryOptions = {}): Promise<ManifestCheck> {
  const client = clientFor(image, options)
  const configs = await Promise.all(
    Object.entries(digests).map(async ([platform, digest]) => {
      const manifest = await client.manifest(digest)
      const config = (manifest.config as { digest?: unknown } | undefined)?.digest
      if (typeof config !== 'string') return [platform, null] as const
      const res = await client.blob(config)
      return [platform, JSON.parse(await res.text()) as unknown] as const
    })
  )
  return checkConfigs(JSON.stringify(Object.fromEntries(configs)), digests)
}

function key(platform: string): string {
  const [os = '', architecture = '', variant] = platform.split('/')
  return formatPlatform(normalizePlatform(variant ? { os, architecture, variant } : { os, architecture }))
}

// ---------------------------------------------------------------------------------------------
// ELF headers

export interface ElfHeader {
  bits: 32 | 64
  endian: 'little' | 'big'
  /** e_type: 1 relocatable, 2 executable, 3 shared object or PIE, 4 core. */
  type: number
  /** e_machine. */
  machine: number
}

/** The ELF identification of a file's first 20 bytes; undefined when it is no ELF file. */
export function readElfHeader(head: Uint8Array): ElfHeader | undefined {
  if (head.length < 20 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return undefined
  const bits = head[4] === 1 ? 32 : head[4] === 2 ? 64 : undefined
  const endian = head[5] === 1 ? 'little' : head[5] === 2 ? 'big' : undefined
  if (bits === undefined || endian === undefined) return undefined
  const u16 = (at: number): number => (endian === 'little' ? head[at]! | (head[at + 1]! << 8) : (head[at]! << 8) | head[at + 1]!)
  return { bits, endian, type: u16(16), machine: u16(18) }
}

interface ElfArch {
  machine: number
  bits: 32 | 64
  endian: 'little' | 'big'
  name: string
}

/** What each container architecture's binaries are, by e_machine, class and byte order. */
export const ELF_ARCHITECTURES: Record<string, ElfArch> = {
  amd64: { machine: 62, bits: 64, endian: 'little', name: 'x86-64' },
  '386': { machine: 3, bits: 32, endian: 'little', name: 'Intel 80386' },
  arm64: { machine: 183, bits: 64, endian: 'little', name: 'AArch64' },
  arm: { machine: 40, bits: 32, endian: 'little', name: 'ARM' },
  ppc64le: { machine: 21, bits: 64, endian: 'little', name: 'PowerPC64 little-endian' },
  ppc64: { machine: 21, bits: 64, endian: 'big', name: 'PowerPC64' },
  s390x: { machine: 22, bits: 64, endian: 'big', name: 'IBM S/390' },
  riscv64: { machine: 243, bits: 64, endian: 'little', name: 'RISC-V' },
  loong64: { machine: 258, bits: 64, endian: 'little', name: 'LoongArch' },
  mips64le: { machine: 8, bits: 64, endian: 'little', name: 'MIPS64 little-endian' },
  mips64: { machine: 8, bits: 64, endian: 'big', name: 'MIPS64' },
  mipsle: { machine: 8, bits: 32, endian: 'little', name: 'MIPS little-endian' },
  mips: { machine: 8, bits: 32, endian: 'big', name: 'MIPS' }
}

/** The container architecture an ELF header is for; undefined for one no platform uses. */
export function elfArchitecture(h: ElfHeader): string | undefined {
  return Object.entries(ELF_ARCHITECTURES).find(([, a]) => a.machine === h.machine && a.bits === h.bits && a.endian === h.endian)?.[0]
}

/** `ELF 64-bit LSB x86-64`, like file(1) says it. */
export function describeElf(h: ElfHeader): string {
  const arch = elfArchitecture(h)
  const name = arch ? ELF_ARCHITECTURES[arch]!.name : `machine ${h.machine}`
  return `ELF ${h.bits}-bit ${h.endian === 'little' ? 'LSB' : 'MSB'} ${name}`
}

/**
 * Whether a binary belongs in an image of this platform. Only executables and shared objects
 * count: relocatable objects and core files are never loaded, and packages ship foreign ones
 * as data (test fixtures, cross toolchains).
 */
export function elfFits(h: ElfHeader, platform: Platform): boolean | undefined {
  if (h.type !== 2 && h.type !== 3) return undefined
  const expected = ELF_ARCHITECTURES[normalizePlatform(platform).architecture]
  if (!expected) return undefined
  return h.machine === expected.machine && h.bits === expected.bits && h.endian === expected.endian
}

// ---------------------------------------------------------------------------------------------
// Streaming tar reader

export interface TarEntry {
  /** Path without a leading "./" or "/". */
  path: string
  /** Type flag: '0' regular file, '1' hard link, '2' symlink, '5' directory, ... */
  type: string
  size: number
  /** Up to the requested number of leading bytes, for regular files. */
  head?: Buffer
}

const BLOCK = 512

/**
 * Reads a tar stream entry by entry without buffering file contents: only each regular file's
 * first `headBytes` bytes are kept. Understands ustar prefixes, GNU long names and PAX headers.
 */
export async function readTar(source: AsyncIterable<Buffer | Uint8Array>, visit: (entry: TarEntry) => void, headBytes = 20): Promise<void> {
  let header: Buffer = Buffer.alloc(0)
  let skip = 0
  let collecting: { need: number; chunks: Buffer[]; got: number; done: (data: Buffer) => void } | undefined
  let longName: string | undefined
  let pax: Record<string, string> = {}
  let ended = false

  const onHeader = (block: Buffer): void => {
    if (block.every(b => b === 0)) {
      ended = true
      return
    }
    ended = false
    verifyChecksum(block)
    const type = String.fromCharCode(block[156]!) === '\0' ? '0' : String.fromCharCode(block[156]!)
    const size = pax.size !== undefined ? Number(pax.size) : readSize(block.subarray(124, 136))
    const padded = Math.ceil(size / BLOCK) * BLOCK
    const meta = (done: (data: Buffer) => void): void => {
      if (size > 1 << 20) throw new Error(`tar metadata entry of ${size} bytes: not a layer tar`)
      collecting = { need: size, chunks: [], got: 0, done }
      skip = padded - size
      if (size === 0) finish()
    }
    switch (type) {
      case 'L':
        return meta(data => (longName = cString(data)))
      case 'K':
        return meta(() => undefined)
      case 'x':
        return meta(data => (pax = { ...pax, ...parsePax(data) }))
      case 'g':
        return meta(() => undefined)
    }
    const magic = block.subarray(257, 263).toString('latin1')
    const prefix = magic === 'ustar\0' ? cString(block.subarray(345, 500)) : ''
    const name = longName ?? pax.path ?? (prefix ? `${prefix}/${cString(block.subarray(0, 100))}` : cString(block.subarray(0, 100)))
    longName = undefined
    pax = {}
    const entry: TarEntry = { path: cleanPath(name), type, size }
    const regular = type === '0' || type === '7'
    if (regular && headBytes > 0 && size > 0) {
      const need = Math.min(size, headBytes)
      collecting = {
        need,
        chunks: [],
        got: 0,
        done: data => visit({ ...entry, head: data })
      }
      skip = padded - need
    } else {
      visit(regular ? { ...entry, head: Buffer.alloc(0) } : entry)
      skip = padded
    }
  }
  const finish = (): void => {
    const c = collecting!
    collecting = undefined
    c.done(Buffer.concat(c.chunks, c.got))
  }

  for await (const piece of source) {
    const chunk = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength)
    let off = 0
    while (off < chunk.length) {
      if (collecting) {
        const take = Math.min(collecting.need - collecting.got, chunk.length - off)
        collecting.chunks.push(chunk.subarray(off, off + take))
        collecting.got += take
        off += take
        if (collecting.got === collecting.need) finish()
        continue
      }
      if (skip > 0) {
        const take = Math.min(skip, chunk.length - off)
        skip -= take
        off += take
        continue
      }
      const take = Math.min(BLOCK - header.length, chunk.length - off)
      header = header.length === 0 && take === BLOCK ? chunk.subarray(off, off + take) : Buffer.concat([header, chunk.subarray(off, off + take)])
      off += take
      if (header.length === BLOCK) {
        const block = header
        header = Buffer.alloc(0)
        onHeader(block)
      }
    }
  }
  if (collecting || skip > 0 || (header.length > 0 && !ended)) throw new Error('the tar stream ends inside an entry (truncated layer)')
}

function verifyChecksum(block: Buffer): void {
  const stored = parseInt(block.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!
  if (stored !== sum) throw new Error('bad tar header checksum: the layer is not a tar stream (or is compressed in another way)')
}

function readSize(field: Buffer): number {
  // GNU base-256 for sizes of 8 GiB and more.
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!
    return n
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim()
  return text ? parseInt(text, 8) : 0
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {}
  let off = 0
  while (off < data.length) {
    const space = data.indexOf(0x20, off)
    if (space < 0) break
    const length = parseInt(data.subarray(off, space).toString('latin1'), 10)
    if (!(length > 0)) break
    const record = data.subarray(space + 1, off + length - 1).toString('utf8')
    const eq = record.indexOf('=')
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1)
    off += length
  }
  return out
}

function cString(data: Buffer): string {
  const end = data.indexOf(0)
  return data.subarray(0, end < 0 ? data.length : end).toString('utf8')
}

function cleanPath(p: string): string {
  return p.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '')
}

// ---------------------------------------------------------------------------------------------
// ELF scan of one platform image

export interface ElfMismatch {
  path: string
  /** Digest of the layer holding the file. */
  layer: string
  /** e.g. "ELF 64-bit LSB x86-64". */
  found: string
  /** Platform the binary is for, when it is one (linux/amd64). */
  foundPlatform?: string
}

export interface LayerSkip {
  digest: string
  reason: string
}

export interface ElfScan {
  ref: string
  platform: string
  layers: number
  /** Compressed bytes read from the registry. */
  bytes: number
  /** Regular files read (in every layer, overwritten ones too). */
  files: number
  /** ELF executables and shared objects among them. */
  elfFiles: number
  /** Binaries of another architecture in the final filesystem. */
  mismatches: ElfMismatch[]
  /** Layers that could not be read (zstd on a Node without zstd, a failed download, ...). */
  skipped: LayerSkip[]
  durationMs: number
}

export interface ScanOptions extends RegistryOptions {
  /** Layers downloaded at once. */
  concurrency?: number
  /** Layers already read for another platform of the same release: each is downloaded once. */
  layers?: LayerCache
}

/** What one layer holds, independent of the platform it is judged for. */
interface LayerContent {
  digest: string
  files: number
  elfs: Array<{ path: string; elf: ElfHeader }>
  /** Every path in the layer, to tell which lower-layer files it replaces. */
  paths: Set<string>
  /** Paths a whiteout deletes, and directories an opaque whiteout empties. */
  deleted: string[]
  opaque: string[]
}

interface LayerResult extends LayerContent {
  bytes: number
  elfFiles: number
  mismatches: ElfMismatch[]
}

/** Layer digest → its content being read; shared by the scans of one release, since platforms share layers. */
export type LayerCache = Map<string, Promise<LayerContent & { bytes: number }>>

async function readLayerTar(source: AsyncIterable<Buffer | Uint8Array>, digest: string): Promise<LayerContent> {
  const content: LayerContent = { digest, files: 0, elfs: [], paths: new Set(), deleted: [], opaque: [] }
  await readTar(source, entry => {
    const base = path.posix.basename(entry.path)
    if (base.startsWith('.wh.')) {
      const dir = path.posix.dirname(entry.path)
      if (base === '.wh..wh..opq') content.opaque.push(dir === '.' ? '' : dir)
      else content.deleted.push(path.posix.join(dir, base.slice(4)))
      return
    }
    content.paths.add(entry.path)
    if (!entry.head) return
    content.files++
    const elf = readElfHeader(entry.head)
    if (elf) content.elfs.push({ path: entry.path, elf })
  })
  return content
}

/** The ELF files of a layer that do not fit the platform. */
function judge(content: LayerContent, platform: Platform): { elfFiles: number; mismatches: ElfMismatch[] } {
  let elfFiles = 0
  const mismatches: ElfMismatch[] = []
  for (const { path: file, elf } of content.elfs) {
    const fits = elfFits(elf, platform)
    if (fits === undefined) continue
    elfFiles++
    if (fits) continue
    const arch = elfArchitecture(elf)
    mismatches.push({ path: `/${file}`, layer: content.digest, found: describeElf(elf), ...(arch ? { foundPlatform: `linux/${arch}` } : {}) })
  }
  return { elfFiles, mismatches }
}

const GZIP_TYPES = /(\.tar\.gzip|\+gzip|\.tar\.gz)$/
const ZSTD_TYPES = /(\+zstd|\.tar\.zstd)$/
const TAR_TYPES = /(\.tar|\.rootfs\.diff\.tar)$/

async function readLayer(client: RegistryClient, layer: { digest: string; mediaType: string }): Promise<LayerContent & { bytes: number }> {
  const res = await client.blob(layer.digest)
  const body = res.body
  let decoder: NodeJS.ReadWriteStream | undefined
  if (GZIP_TYPES.test(layer.mediaType)) decoder = zlib.createGunzip()
  else if (ZSTD_TYPES.test(layer.mediaType)) {
    const zstd = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress
    if (!zstd) {
      body.destroy()
      throw new Error(`zstd layer (${layer.mediaType}) and this Node has no zstd decompressor`)
    }
    decoder = zstd()
  }
  // Counted in the chain, not with a 'data' listener: that would switch the body to flowing
  // mode and an uncompressed layer's reader would miss the chunks it emits.
  let bytes = 0
  const counted = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of body) {
      bytes += (chunk as Buffer).length
      yield chunk as Buffer
    }
  }
  const source: AsyncIterable<Buffer> = decoder ? (pipeline(counted, decoder, () => undefined) as unknown as AsyncIterable<Buffer>) : counted()
  const content = await readLayerTar(source, layer.digest)
  return { ...content, bytes }
}

/** A lower layer's file counts only if no later layer replaces or deletes it. */
function survives(file: string, later: LayerResult[]): boolean {
  const p = file.replace(/^\//, '')
  const under = (dir: string): boolean => dir === '' || p === dir || p.startsWith(`${dir}/`)
  return !later.some(l => l.paths.has(p) || l.deleted.some(under) || l.opaque.some(dir => dir === '' || p.startsWith(`${dir}/`)))
}

/**
 * Reads every layer of one platform's image from the registry (a few at once, streamed,
 * nothing written to disk) and reports ELF executables and shared objects that are not for
 * `platform`, with their path and layer. `ref` is `image@<platform manifest digest>`.
 */
export async function scanElf(ref: string, platform: Platform | string, options: ScanOptions = {}): Promise<ElfScan> {
  const started = Date.now()
  const p = typeof platform === 'string' ? splitPlatform(platform) : platform
  if (!ELF_ARCHITECTURES[normalizePlatform(p).architecture]) {
    throw new Error(`no ELF machine is known for ${formatPlatform(p)}: cannot verify its binaries`)
  }
  const { reference } = parseImageRef(ref)
  const client = clientFor(ref, options)
  const manifest = (await client.manifest(reference)) as { manifests?: unknown; layers?: Array<{ digest: string; mediaType: string; size?: number }> }
  if (manifest.manifests !== undefined || !Array.isArray(manifest.layers)) {
    throw new Error(`${ref} is not an image manifest: pass the digest of one platform's manifest, not the index`)
  }
  const layers = manifest.layers
  const skipped: LayerSkip[] = []
  const results = await mapLimit(layers, options.concurrency ?? 4, async layer => {
    if (!GZIP_TYPES.test(layer.mediaType) && !ZSTD_TYPES.test(layer.mediaType) && !TAR_TYPES.test(layer.mediaType)) {
      skipped.push({ digest: layer.digest, reason: `not a filesystem layer (${layer.mediaType})` })
      return undefined
    }
    try {
      let content = options.layers?.get(layer.digest)
      if (!content) {
        content = readLayer(client, layer)
        options.layers?.set(layer.digest, content)
      }
      const read = await content
      return { ...read, ...judge(read, p) }
    } catch (e: unknown) {
      skipped.push({ digest: layer.digest, reason: e instanceof Error ? e.message : String(e) })
      return undefined
    }
  })
  const done = results.filter((r): r is LayerResult => r !== undefined)
  const mismatches = done.flatMap((layer, i) => layer.mismatches.filter(m => survives(m.path, done.slice(i + 1))))
  return {
    ref,
    platform: formatPlatform(normalizePlatform(p)),
    layers: layers.length,
    bytes: done.reduce((n, l) => n + l.bytes, 0),
    files: done.reduce((n, l) => n + l.files, 0),
    elfFiles: done.reduce((n, l) => n + l.elfFiles, 0),
    mismatches,
    skipped,
    durationMs: Date.now() - started
  }
}

/** Log lines for a scan: what was read, then one line per foreign binary. */
export function describeScan(scan: ElfScan): string[] {
  const lines = [
    `${scan.platform}: ${scan.elfFiles} ELF binaries among ${scan.files} files in ${scan.layers} layers ` +
      `(${(scan.bytes / 1048576).toFixed(1)} MiB, ${(scan.durationMs / 1000).toFixed(1)}s)`
  ]
  for (const m of scan.mismatches) {
    lines.push(`  ${m.path}: ${m.found}${m.foundPlatform ? ` (${m.foundPlatform})` : ''}, not ${scan.platform}; layer ${m.layer}`)
  }
  for (const s of scan.skipped) lines.push(`  layer ${s.digest} not scanned: ${s.reason}`)
  return lines
}

// ---------------------------------------------------------------------------------------------
// Smoke test

export interface SmokeResult {
  platform: string
  ok: boolean
  /** docker run's exit code: the command's, or 125-127 when docker could not start it. */
  exitCode: number
  timedOut: boolean
  /** The last lines of stdout and stderr. */
  output: string
  durationMs: number
  /** How the command ran: plain words directly, anything else through /bin/sh -c. */
  mode: 'exec' | 'shell'
  message: string
}

const SHELL_SYNTAX = /[|&;<>()$`\\"'*?[\]#~!{}\n]/

/**
 * The `docker run` argv for a smoke test. A command of plain words runs directly, as the
 * entrypoint, so it works in images without a shell (scratch, distroless); anything with shell
 * syntax (quotes, pipes, $, globs, VAR=value) runs through the image's /bin/sh -c, like a
 * Dockerfile's shell-form CMD. Either way the image's own ENTRYPOINT is replaced.
 */
export function smokeArgs(ref: string, platform: string, command: string, name: string): { args: string[]; mode: 'exec' | 'shell' } {
  const words = command.trim().split(/\s+/).filter(Boolean)
  const base = ['run', '--rm', '--name', name, '--platform', platform, '--pull', 'never']
  if (words.length > 0 && !SHELL_SYNTAX.test(command) && !words[0]!.includes('=')) {
    return { args: [...base, '--entrypoint', words[0]!, ref, ...words.slice(1)], mode: 'exec' }
  }
  return { args: [...base, '--entrypoint', '/bin/sh', ref, '-c', command], mode: 'shell' }
}

/**
 * Runs `command` in one platform's image (`ref` is image@digest). The image is pulled first,
 * so the timeout measures the command only; on timeout the container is removed with
 * `docker rm -f` and the result says it timed out. Foreign platforms need QEMU registered.
 */
export async function smokeTest(
  docker: Docker,
  ref: string,
  platform: Platform | string,
  command: string,
  timeoutSeconds: number,
  options: { name?: string } = {}
): Promise<SmokeResult> {
  const p = formatPlatform(normalizePlatform(typeof platform === 'string' ? splitPlatform(platform) : platform))
  const name = options.name ?? `multiarch-smoke-${randomBytes(6).toString('hex')}`
  const started = Date.now()
  const pull = await docker.run(['pull', '--quiet', '--platform', p, ref], { silent: true, allowFailure: true })
  const { args, mode } = smokeArgs(ref, p, command, name)
  if (pull.exitCode !== 0) {
    return {
      platform: p,
      ok: false,
      exitCode: pull.exitCode,
      timedOut: false,
      output: tail(pull.stderr || pull.stdout, 20),
      durationMs: Date.now() - started,
      mode,
      message: `Smoke test on ${p}: could not pull ${ref} (exit ${pull.exitCode}):\n${tail(pull.stderr || pull.stdout, 20)}`
    }
  }
  const runStarted = Date.now()
  const run = docker.run(args, { allowFailure: true })
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<'timeout'>(resolve => {
    timer = setTimeout(() => resolve('timeout'), timeoutSeconds * 1000)
  })
  const first = await Promise.race([run, expired])
  clearTimeout(timer)
  if (first === 'timeout') {
    await docker.run(['rm', '--force', name], { silent: true, allowFailure: true })
    // Removing the container ends docker run; don't wait forever if the CLI hangs anyway.
    const settled = await Promise.race([run, new Promise<undefined>(resolve => setTimeout(() => resolve(undefined), 15000).unref())])
    const output = settled ? tail(`${settled.stdout}${settled.stderr}`, 20) : ''
    return {
      platform: p,
      ok: false,
      exitCode: settled?.exitCode ?? -1,
      timedOut: true,
      output,
      durationMs: Date.now() - runStarted,
      mode,
      message:
        `Smoke test on ${p} timed out: \`${command}\` was still running after ${timeoutSeconds}s and its container was removed` +
        (output ? `. Last output:\n${output}` : ' (no output)')
    }
  }
  const result = first
  const output = tail(`${result.stdout}${result.stderr}`, 20)
  const durationMs = Date.now() - runStarted
  if (result.exitCode === 0) {
    return { platform: p, ok: true, exitCode: 0, timedOut: false, output, durationMs, mode, message: `Smoke test on ${p} passed (${(durationMs / 1000).toFixed(1)}s)` }
  }
  let hint = ''
  if (mode === 'shell' && /\/bin\/sh.*(no such file|not found)/i.test(output)) {
    hint = ' The image has no /bin/sh: write the command as plain words (no quotes, pipes, $ or globs) to run it without a shell.'
  } else if (/exec format error/i.test(output)) {
    hint = ` The ${p} binary cannot run here: no QEMU emulator is registered for it, or the image holds a binary of another architecture.`
  } else if (result.exitCode === 125) {
    hint = ' docker could not create or start the container.'
  } else if (result.exitCode === 126 || result.exitCode === 127) {
    hint = ' The command was not found or could not be executed in the image.'
  }
  return {
    platform: p,
    ok: false,
    exitCode: result.exitCode,
    timedOut: false,
    output,
    durationMs,
    mode,
    message: `Smoke test on ${p} failed: \`${command}\` exited with ${result.exitCode}.${hint}` + (output ? ` Last output:\n${output}` : ' (no output)')
  }
}
