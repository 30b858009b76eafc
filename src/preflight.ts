import type { Docker } from './docker.js'
import { stageLabel, stagesFor, type Dockerfile, type ImageUse } from './dockerfile.js'
import { tail } from './errors.js'
import { formatPlatform, nativePlatforms, normalizePlatform, platformEquals, splitPlatform, type Platform } from './platforms.js'
import { isObject, excerpt } from './json.js'

// ---------------------------------------------------------------------------------------------
// Which platforms an image offers

/** What one image offers, as its registry lists it. */
export interface ImagePlatforms {
  /** Normalized platforms (linux/arm/v7), attestations left out, in the index's order. */
  platforms: string[]
  /** Why the lookup failed (the image does not exist, no access, ...); platforms is then empty. */
  error?: string
}

export type RawManifest = { kind: 'index'; platforms: string[] } | { kind: 'manifest' }

/**
 * Reads `docker buildx imagetools inspect --raw <image>`: an index lists its platforms; a single
 * manifest does not, so its config must be read (`configPlatform`).
 */
export function parseRawManifest(raw: string): RawManifest {
  let doc: unknown
  try {
    doc = JSON.parse(raw)
  } catch {
    throw new Error(`not a JSON manifest: ${excerpt(raw)}`)
  }
  if (!isObject(doc)) throw new Error(`not a manifest: ${excerpt(raw)}`)
  if (Array.isArray(doc.manifests)) {
    const platforms: string[] = []
    for (const entry of doc.manifests) {
      if (!isObject(entry) || !isObject(entry.platform)) continue
      const p = entry.platform
      const annotations = isObject(entry.annotations) ? entry.annotations : {}
      if (annotations['vnd.docker.reference.type'] === 'attestation-manifest') continue
      if (typeof p.os !== 'string' || typeof p.architecture !== 'string') continue
      if (p.os === 'unknown' && p.architecture === 'unknown') continue
      const key = formatPlatform(normalizePlatform({ os: p.os, architecture: p.architecture, ...(typeof p.variant === 'string' && p.variant ? { variant: p.variant } : {}) }))
      if (!platforms.includes(key)) platforms.push(key)
    }
    return { kind: 'index', platforms }
  }
  // Schema 1 manifests of old images carry the architecture themselves.
  if (doc.schemaVersion === 1 && typeof doc.architecture === 'string') {
    return { kind: 'index', platforms: [formatPlatform(normalizePlatform({ os: 'linux', architecture: doc.architecture }))] }
  }
  if (isObject(doc.config)) return { kind: 'manifest' }
  throw new Error(`neither an image index nor an image manifest: ${excerpt(raw)}`)
}

/** The platform of an image config (`imagetools inspect --format '{{json .Image}}'` of one manifest). */
export function configPlatform(json: string): string {
  let doc: unknown
  try {
    doc = JSON.parse(json)
  } catch {
    throw new Error(`not a JSON image config: ${excerpt(json)}`)
  }
  if (!isObject(doc) || typeof doc.os !== 'string' || typeof doc.architecture !== 'string') {
    throw new Error(`an image config without os and architecture: ${excerpt(json)}`)
  }
  const variant = typeof doc.variant === 'string' && doc.variant ? { variant: doc.variant } : {}
  return formatPlatform(normalizePlatform({ os: doc.os, architecture: doc.architecture, ...variant }))
}

/** Looks up an image's platforms: one imagetools call, two for a single-manifest image. */
export async function imagePlatforms(docker: Docker, image: string): Promise<ImagePlatforms> {
  const raw = await docker.buildx(['imagetools', 'inspect', '--raw', image], { silent: true, allowFailure: true })
  if (raw.exitCode !== 0) return { platforms: [], error: failure(raw.stderr || raw.stdout, raw.exitCode) }
  try {
    const parsed = parseRawManifest(raw.stdout)
    if (parsed.kind === 'index') return { platforms: parsed.platforms }
    const config = await docker.buildx(['imagetools', 'inspect', '--format', '{{json .Image}}', image], {
      silent: true,
      allowFailure: true
    })
    if (config.exitCode !== 0) return { platforms: [], error: failure(config.stderr || config.stdout, config.exitCode) }
    return { platforms: [configPlatform(config.stdout)] }
  } catch (e: unknown) {
    return { platforms: [], error: e instanceof Error ? e.message : String(e) }
  }
}

function failure(output: string, exitCode: number): string {
  const text = tail(output, 3).replace(/\s+/g, ' ').trim()
  return text || `imagetools exited with ${exitCode}`
}

/**
 * Whether an image's platform serves a wanted one, as containerd picks a manifest when
 * BuildKit pulls: the same architecture, or an older variant it runs (arm/v6 for arm/v7,
 * amd64 for amd64/v3), never another architecture.
 */
export function provides(has: Platform | string, wanted: Platform | string): boolean {
  const h = normalizePlatform(typeof has === 'string' ? splitPlatform(has) : has)
  const w = normalizePlatform(typeof wanted === 'string' ? splitPlatform(wanted) : wanted)
  if (h.os !== w.os || h.architecture !== w.architecture) return false
  if (h.variant === w.variant) return true
  const level = (variant: string | undefined, fallback: number): number => (variant ? Number(variant.slice(1)) : fallback)
  switch (w.architecture) {
    case 'amd64':
      return level(h.variant, 1) <= level(w.variant, 1)
    case 'arm':
      return level(h.variant, 7) <= level(w.variant, 7)
    case 'arm64':
      return level(h.variant, 8) <= level(w.variant, 8)
    default:
      return false
  }
}

// ---------------------------------------------------------------------------------------------
// Base images of a Dockerfile

/** An external image the build pulls and the platforms it is pulled for. */
export interface ImageNeed {
  image: string
  /** Normalized platforms, in the order the requested platforms produce them. */
  platforms: string[]
  /** Dockerfile lines that name it (FROM, COPY --from, RUN --mount), ascending. */
  lines: number[]
}

/**
 * Every external image the build pulls, per platform: requested platforms for stages on the
 * target platform, the host for `$BUILDPLATFORM` stages, the literal one for fixed stages.
 * Only stages the target needs count, as BuildKit builds no others.
 */
export function baseImageNeeds(df: Dockerfile, requested: Platform[], host: Platform): ImageNeed[] {
  const needs = new Map<string, ImageNeed>()
  const add = (use: ImageUse, platform: Platform): void => {
    if (use.image.trim() === '') return
    const need = needs.get(use.image) ?? { image: use.image, platforms: [], lines: [] }
    const key = formatPlatform(normalizePlatform(platform))
    if (!need.platforms.includes(key)) need.platforms.push(key)
    if (!need.lines.includes(use.line)) need.lines.push(use.line)
    needs.set(use.image, need)
  }
  for (const target of requested) {
    for (const plan of stagesFor(df, target, host)) {
      for (const use of plan.images) add(use, plan.platform)
    }
  }
  return [...needs.values()].map(n => ({ ...n, lines: n.lines.sort((a, b) => a - b) }))
}

/** Stages whose image name expands to nothing (an ARG without value): BuildKit will reject them. */
export function unresolvedImages(df: Dockerfile, requested: Platform[], host: Platform): number[] {
  const lines = new Set<number>()
  for (const target of requested) {
    for (const plan of stagesFor(df, target, host)) {
      for (const use of plan.images) if (use.image.trim() === '') lines.add(use.line)
    }
  }
  return [...lines].sort((a, b) => a - b)
}

export interface ImageCheck {
  image: string
  /** Platforms it is pulled for. */
  needs: string[]
  /** Platforms it offers. */
  has: string[]
  /** Needed platforms it does not offer; empty when the lookup failed (see error). */
  missing: string[]
  lines: number[]
  error?: string
}

/** A problem to annotate on a Dockerfile line (core.error / core.warning with file and startLine). */
export interface LineProblem {
  line: number
  message: string
}

export interface BaseImageReport {
  images: ImageCheck[]
  /** False when an image lacks a needed platform. A failed lookup alone leaves it true. */
  ok: boolean
  /** One per image lacking a platform, on its first line. */
  problems: LineProblem[]
  /** Lookups that failed, and image names that expanded to nothing. */
  warnings: LineProblem[]
  /** For the step summary. */
  markdown: string
  /** Aligned columns for the log. */
  text: string
}

/** Combines needs and lookups into the report; pure. */
export function checkImages(needs: ImageNeed[], lookups: ReadonlyMap<string, ImagePlatforms>): ImageCheck[] {
  return needs.map(need => {
    const found = lookups.get(need.image) ?? { platforms: [], error: 'not looked up' }
    const check: ImageCheck = {
      image: need.image,
      needs: need.platforms,
      has: found.platforms,
      missing: found.error ? [] : need.platforms.filter(p => !found.platforms.some(h => provides(h, p))),
      lines: need.lines
    }
    if (found.error) check.error = found.error
    return check
  })
}

export function baseImageReportOf(images: ImageCheck[], unresolvedLines: number[] = []): BaseImageReport {
  const problems: LineProblem[] = images
    .filter(i => i.missing.length > 0)
    .map(i => ({
      line: i.lines[0]!,
      message:
        `${i.image} has no ${i.missing.join(', ')} image (it has ${i.has.join(', ') || 'none'}): ` +
        `the build pulls it for ${i.needs.join(', ')} (line ${i.lines.join(', ')}). ` +
        'Pick a base image or tag published for every platform, or drop the platforms it lacks.'
    }))
  const warnings: LineProblem[] = [
    ...images
      .filter(i => i.error)
      .map(i => ({ line: i.lines[0]!, message: `could not look up the platforms of ${i.image}: ${i.error}` })),
    ...unresolvedLines.map(line => ({
      line,
      message: 'the image name expands to nothing: an ARG it uses has no default and no build-arg'
    }))
  ]
  const rows = images.map(i => [
    i.image,
    i.error ? '?' : i.has.join(', ') || 'none',
    i.error ? `? (${i.error})` : i.missing.join(', ') || '-',
    i.lines.join(', ')
  ])
  return {
    images,
    ok: problems.length === 0,
    problems,
    warnings,
    markdown: markdownTable(['base image', 'platforms it has', 'missing', 'Dockerfile line'], rows, [0], [2]),
    text: textTable(['base image', 'platforms it has', 'missing', 'line'], rows)
  }
}

/**
 * Looks up every external image the build pulls (one imagetools call per distinct image, a few
 * at a time) and reports the platforms each lacks. The caller fails the step on `!ok` with
 * preflight: true, and warns with preflight: warn.
 */
export async function baseImageReport(
  docker: Docker,
  df: Dockerfile,
  requested: Platform[],
  host: Platform,
  concurrency = 4
): Promise<BaseImageReport> {
  const needs = baseImageNeeds(df, requested, host)
  const lookups = new Map<string, ImagePlatforms>()
  await mapLimit(needs, concurrency, async need => {
    lookups.set(need.image, await imagePlatforms(docker, need.image))
  })
  return baseImageReportOf(checkImages(needs, lookups), unresolvedImages(df, requested, host))
}

// ---------------------------------------------------------------------------------------------
// Fixed architectures in a multi-platform stage

export interface ArchWarning {
  line: number
  /** The instruction, whitespace collapsed. */
  text: string
  /** The architecture as written (x86_64, amd64, ...). */
  arch: string
  /** The word it stands in (URL or path). */
  word: string
  /** For core.warning(message, {file, startLine: line}). */
  message: string
}

const ARCH_TOKENS: Record<string, string> = {
  amd64: 'amd64',
  x86_64: 'amd64',
  'x86-64': 'amd64',
  aarch64: 'arm64',
  arm64: 'arm64',
  armhf: 'arm',
  armv7: 'arm',
  armv7l: 'arm',
  i386: '386',
  i686: '386',
  ppc64le: 'ppc64le',
  ppc64el: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64'
}
const ARCH_RE = new RegExp(`(?<![A-Za-z0-9])(${Object.keys(ARCH_TOKENS).sort((a, b) => b.length - a.length).join('|')})(?![A-Za-z0-9])`, 'g')

/**
 * Fixed architecture names in the URLs and file names of one instruction's arguments. Whatever
 * comes from an expansion (`${TARGETARCH}`, `${ARCH:-amd64}`, `$(uname -m)`) and `--platform`
 * flags are ignored: they are how a Dockerfile does it right.
 */
export function fixedArchitectures(args: string): Array<{ arch: string; word: string }> {
  let text = args.replace(/--platform(?:=|\s+)\S+/g, ' ')
  // Innermost first, so nested ${A:-${B}} and $( $(...) ) go too.
  for (let previous = ''; previous !== text; ) {
    previous = text
    text = text.replace(/\$\{[^{}]*\}/g, '\uE000').replace(/\$\([^()]*\)/g, '\uE000')
  }
  text = text.replace(/`[^`]*`/g, '\uE000').replace(/\$[A-Za-z_][A-Za-z0-9_]*/g, '\uE000')
  const found: Array<{ arch: string; word: string }> = []
  for (const word of text.split(/[\s;|&()<>'"=,]+/)) {
    if (!word.includes('/') && !/[A-Za-z0-9]\.[A-Za-z0-9]{1,8}$/.test(word)) continue
    for (const m of word.matchAll(ARCH_RE)) {
      found.push({ arch: m[1]!, word: word.replace(/\uE000/g, '${…}') })
    }
  }
  return found
}

/**
 * ADD, COPY and RUN lines of stages built for the target platform that name a fixed
 * architecture in a URL or file name, when a requested platform is of another architecture:
 * every platform would get the same file. Heredoc bodies are not read.
 */
export function hardcodedArchWarnings(df: Dockerfile, requested: Platform[], host: Platform): ArchWarning[] {
  // Stage index → the requested platforms it is built for on the target platform.
  const builtFor = new Map<number, Platform[]>()
  for (const target of requested) {
    for (const plan of stagesFor(df, target, host)) {
      if (!platformEquals(plan.platform, target)) continue
      builtFor.set(plan.index, [...(builtFor.get(plan.index) ?? []), normalizePlatform(target)])
    }
  }
  const warnings: ArchWarning[] = []
  for (const [index, platforms] of [...builtFor].sort((a, b) => a[0] - b[0])) {
    const stage = df.stages[index]!
    for (const ins of stage.instructions) {
      if (!['ADD', 'COPY', 'RUN'].includes(ins.keyword)) continue
      const seen = new Set<string>()
      for (const { arch, word } of fixedArchitectures(ins.args)) {
        if (seen.has(arch)) continue
        seen.add(arch)
        const others = platforms.filter(p => p.architecture !== ARCH_TOKENS[arch])
        if (others.length === 0) continue
        const spelled = arch === ARCH_TOKENS[arch] ? '' : ` (TARGETARCH says ${ARCH_TOKENS[arch]}; map it where the file names spell it ${arch})`
        warnings.push({
          line: ins.line,
          text: `${ins.keyword} ${ins.args}`.replace(/\s+/g, ' ').trim(),
          arch,
          word,
          message:
            `${ins.keyword} in stage ${stageLabel(stage)} names the fixed architecture "${arch}" in ${word}, ` +
            `but the stage is built for ${platforms.map(formatPlatform).join(', ')}: ` +
            `${others.map(formatPlatform).join(', ')} would get the ${arch} file. ` +
            `Declare ARG TARGETARCH in the stage and write \${TARGETARCH} instead${spelled}.`
        })
      }
    }
  }
  return warnings
}

// ---------------------------------------------------------------------------------------------
// Which RUN steps need emulation

export interface EmulatedStage {
  index: number
  label: string
  line: number
  /** Number of RUN instructions. */
  runs: number
  /** Platforms its RUN steps execute on without being native to the host. */
  platforms: string[]
}

export interface EmulationNeeds {
  /** Platforms some RUN step executes on that the host does not run natively; may include a fixed `--platform` one nobody requested. */
  platforms: Platform[]
  stages: EmulatedStage[]
  /** For the log. */
  lines: string[]
}

/**
 * Which stages execute RUN under emulation, for which platforms. A cross-compiling Dockerfile
 * (RUN only in `$BUILDPLATFORM` stages, the target stages only COPY) needs none, so
 * `qemu: auto` can install nothing.
 */
export function emulationPlan(df: Dockerfile, requested: Platform[], host: Platform): EmulationNeeds {
  const native = nativePlatforms(host)
  const platforms: Platform[] = []
  const stages = new Map<number, EmulatedStage>()
  for (const target of requested) {
    for (const plan of stagesFor(df, target, host)) {
      const stage = df.stages[plan.index]!
      if (stage.runs.length === 0 || native.some(n => platformEquals(n, plan.platform))) continue
      const key = formatPlatform(plan.platform)
      if (!platforms.some(p => platformEquals(p, plan.platform))) platforms.push(plan.platform)
      const entry = stages.get(plan.index) ?? {
        index: plan.index,
        label: stageLabel(stage),
        line: stage.line,
        runs: stage.runs.length,
        platforms: []
      }
      if (!entry.platforms.includes(key)) entry.platforms.push(key)
      stages.set(plan.index, entry)
    }
  }
  const list = [...stages.values()].sort((a, b) => a.index - b.index)
  const lines =
    list.length === 0
      ? [`No RUN step executes on a platform other than the host's (${formatPlatform(normalizePlatform(host))}): no emulator is needed to build.`]
      : list.map(
          s => `stage ${s.label} (line ${s.line}): ${s.runs} RUN step${s.runs === 1 ? '' : 's'} emulated for ${s.platforms.join(', ')}`
        )
  return { platforms, stages: list, lines }
}

// ---------------------------------------------------------------------------------------------
// Helpers shared with compose.ts and verify.ts

/** Runs fn over items, at most `limit` at a time; rejects with the first failure once all settled. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  let failed: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++
      try {
        results[i] = await fn(items[i]!, i)
      } catch (error: unknown) {
        failed ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()))
  if (failed) throw failed.error
  return results
}

/** A markdown table; `code` columns are wrapped in backticks, `bold` ones are bold unless "-". */
export function markdownTable(header: string[], rows: string[][], code: number[] = [], bold: number[] = []): string {
  const cell = (value: string, column: number): string => {
    const escaped = value.replace(/\|/g, '\\|').replace(/\n/g, ' ')
    if (code.includes(column) && value) return `\`${escaped}\``
    if (bold.includes(column) && value && value !== '-') return `**${escaped}**`
    return escaped
  }
  return [
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map(row => `| ${row.map(cell).join(' | ')} |`)
  ].join('\n')
}

/** Columns padded to their widest cell, for the log. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => (r[i] ?? '').length)))
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
