import { InputError } from './errors.js'
import { formatPlatform, normalizePlatform, splitPlatform, type Platform } from './platforms.js'

/** One logical instruction: continuation lines joined, comments and heredoc bodies left out. */
export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, ... */
  keyword: string
  /** Everything after the keyword, continuation lines joined as BuildKit joins them. */
  args: string
  /** 1-based line of the keyword. */
  line: number
  /** 1-based last line, heredoc bodies included. */
  endLine: number
  /** Delimiters of the heredocs the instruction opens, in order. */
  heredocs: string[]
}

/** Where a stage's base comes from. */
export type BaseKind = 'stage' | 'scratch' | 'external'

/**
 * The platform a stage's steps execute on: `build` for `--platform=$BUILDPLATFORM` (and stages
 * derived from one), `fixed` for a literal `--platform=linux/amd64`, `target` otherwise.
 */
export type RunsOn = 'build' | 'target' | 'fixed'

/** A `COPY --from` or `RUN --mount=from=` naming another stage or an image. */
export interface StageRef {
  line: number
  via: 'COPY --from' | 'RUN --mount'
  /** The value as written. */
  raw: string
  /** The value with ARGs resolved; platform ARGs stay as `${TARGETARCH}`. */
  value: string
  /**
   * The stages it can name: one for a plain stage name or index, several for a name built from
   * platform ARGs (`build-${TARGETARCH}`), none when it names an image.
   */
  stages: number[]
}

export interface Stage {
  index: number
  /** Line of the FROM. */
  line: number
  /** `AS` name, lower-cased as BuildKit matches it; undefined when unnamed. */
  name?: string
  /** The image as written in the FROM line. */
  rawImage: string
  /**
   * The image with global ARGs and build-args resolved. Platform ARGs (TARGETARCH, ...) stay
   * as `${NAME}`, since they differ per platform: `stagesFor` gives the concrete image.
   */
  image: string
  /** Platform ARGs the image depends on; empty for the usual fixed image name. */
  imagePlatformArgs: string[]
  base: BaseKind
  /**
   * The stages it is built FROM, for base `stage`: one, or several when the name is built from
   * platform ARGs (`FROM build-${TARGETARCH}`) and each platform picks its own.
   */
  baseStages: number[]
  /** The `--platform` value as written; undefined without the flag. */
  rawPlatform?: string
  /** `rawPlatform` with ARGs resolved, platform ARGs kept as `${BUILDPLATFORM}`. */
  platform?: string
  runsOn: RunsOn
  /** The literal platform of a `fixed` stage, normalized (linux/amd64). */
  fixedPlatform?: string
  /** Every instruction from the FROM (included) to the next FROM. */
  instructions: Instruction[]
  runs: Instruction[]
  refs: StageRef[]
}

export interface GlobalArg {
  name: string
  /** Default as written (quotes and ${...} unprocessed); undefined for `ARG NAME`. */
  rawDefault?: string
  line: number
}

export interface Dockerfile {
  stages: Stage[]
  /** Index of the stage that is built: the `target`, else the last one. */
  target: number
  /**
   * Indices of the stages the target may need (itself included), ascending; BuildKit builds no
   * others. Where a name is built from platform ARGs every stage it can pick is included;
   * `stagesFor` gives the exact set for one platform.
   */
  reachable: number[]
  /** ARGs before the first FROM, in order. */
  globalArgs: GlobalArg[]
  /** build-args as NAME → value. */
  buildArgs: Record<string, string>
  /** Parser directives (syntax, escape, check), names lower-cased. */
  directives: Record<string, string>
  escape: string
}

export interface ParseOptions {
  /** The build-args input: NAME=value items; a bare NAME takes its value from `env`, as buildx does. */
  buildArgs?: string[]
  /** The target input: stage to build; empty builds the last stage. */
  target?: string
  /** For a bare NAME in buildArgs. */
  env?: Record<string, string | undefined>
  /** For messages. */
  file?: string
}

/** BuildKit's automatic platform ARGs, defined in the global scope without an ARG line. */
export const PLATFORM_ARGS = [
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT'
] as const

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD'])
const DIRECTIVE_RE = /^#\s*([A-Za-z][A-Za-z0-9]*)\s*=\s*(.+?)\s*$/
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check'])
const HEREDOC_RE = /^\d*<<(-?)(["']?)([A-Za-z0-9_.-]+)\2$/
const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*/

// ---------------------------------------------------------------------------------------------
// Lexing

/** Splits a Dockerfile into instructions the way BuildKit's parser reads it. */
export function parseInstructions(text: string): { instructions: Instruction[]; directives: Record<string, string>; escape: string } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  const directives: Record<string, string> = {}
  let i = 0
  // Directives only count at the very top; the first other line (even a blank one) ends them.
  for (; i < lines.length; i++) {
    const m = DIRECTIVE_RE.exec(lines[i]!.trim())
    if (!m) break
    const name = m[1]!.toLowerCase()
    if (!KNOWN_DIRECTIVES.has(name) || name in directives) break
    directives[name] = m[2]!
  }
  const escape = directives.escape === '`' ? '`' : '\\'
  const continuation = new RegExp(`${escape === '`' ? '`' : '\\\\'}[ \\t]*$`)

  const instructions: Instruction[] = []
  while (i < lines.length) {
    const first = lines[i]!
    if (first.trim() === '' || /^\s*#/.test(first)) {
      i++
      continue
    }
    const start = i
    let joined = ''
    let line = first
    for (;;) {
      if (continuation.test(line)) {
        joined += line.replace(continuation, '')
        i++
        // Comment and blank lines inside a continued instruction are dropped, not ends.
        while (i < lines.length && (lines[i]!.trim() === '' || /^\s*#/.test(lines[i]!))) i++
        if (i >= lines.length) break
        line = lines[i]!
        continue
      }
      joined += line
      i++
      break
    }
    const trimmed = joined.trim()
    const keyword = (/^\S+/.exec(trimmed)?.[0] ?? '').toUpperCase()
    const args = trimmed.slice(keyword.length).trim()
    const heredocs: string[] = []
    if (HEREDOC_KEYWORDS.has(keyword)) {
      for (const word of splitWords(args)) {
        const m = HEREDOC_RE.exec(word)
        if (m) heredocs.push(`${m[1]}${m[3]}`)
      }
      for (const spec of heredocs) {
        const strip = spec.startsWith('-')
        const delimiter = strip ? spec.slice(1) : spec
        while (i < lines.length) {
          const body = lines[i]!
          i++
          if ((strip ? body.replace(/^\t+/, '') : body) === delimiter) break
        }
      }
    }
    instructions.push({
      keyword,
      args,
      line: start + 1,
      endLine: i,
      heredocs: heredocs.map(h => h.replace(/^-/, ''))
    })
  }
  return { instructions, directives, escape }
}

/** Whitespace-separated words, quotes kept, quoted whitespace not splitting. */
export function splitWords(s: string): string[] {
  const words: string[] = []
  let word = ''
  let quote = ''
  let inWord = false
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!
    if (quote) {
      word += c
      if (c === quote) quote = ''
      else if (c === '\\' && quote === '"' && i + 1 < s.length) word += s[++i]
      continue
    }
    if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      continue
    }
    inWord = true
    word += c
    if (c === '"' || c === "'") quote = c
    else if (c === '\\' && i + 1 < s.length) word += s[++i]
  }
  if (inWord) words.push(word)
  return words
}

// ---------------------------------------------------------------------------------------------
// ARG expansion

interface Value {
  /** undefined: declared, never given a value (`ARG NAME` without default or build-arg). */
  value: string | undefined
  /** Platform ARGs the value depends on. */
  deps: Set<string>
}

type Vars = Map<string, Value>

interface Expanded {
  value: string
  deps: Set<string>
}

/**
 * Expands `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`, `${NAME:+word}`, `${NAME+word}`
 * and removes quotes, as BuildKit's shell lexer does for FROM, ARG and flag values.
 * An unknown name expands to the empty string.
 */
export function expandWord(text: string, vars: ReadonlyMap<string, string | undefined>, escape = '\\'): string {
  const map: Vars = new Map([...vars].map(([k, v]) => [k, { value: v, deps: new Set<string>() }]))
  return expand(text, map, escape).value
}

function expand(text: string, vars: Vars, escape: string): Expanded {
  const deps = new Set<string>()
  let out = ''
  let quote = ''
  let i = 0
  const lookup = (name: string): Value | undefined => {
    const v = vars.get(name)
    if (v) for (const d of v.deps) deps.add(d)
    return v
  }
  while (i < text.length) {
    const c = text[i]!
    if (quote === "'") {
      if (c === "'") quote = ''
      else out += c
      i++
      continue
    }
    if (c === escape && i + 1 < text.length) {
      out += text[i + 1]
      i += 2
      continue
    }
    if (c === '"' || (c === "'" && !quote)) {
      quote = quote === c ? '' : c
      i++
      continue
    }
    if (c !== '$') {
      out += c
      i++
      continue
    }
    if (text[i + 1] === '{') {
      const close = matchingBrace(text, i + 1)
      if (close < 0) {
        out += text.slice(i)
        break
      }
      const inner = text.slice(i + 2, close)
      i = close + 1
      const name = NAME_RE.exec(inner)?.[0]
      if (!name) continue
      const v = lookup(name)
      const rest = inner.slice(name.length)
      const set = v !== undefined && v.value !== undefined
      const nonEmpty = set && v.value !== ''
      const word = (w: string): string => {
        const e = expand(w, vars, escape)
        for (const d of e.deps) deps.add(d)
        return e.value
      }
      if (rest.startsWith(':-')) out += nonEmpty ? v!.value : word(rest.slice(2))
      else if (rest.startsWith('-')) out += set ? v!.value : word(rest.slice(1))
      else if (rest.startsWith(':+')) out += nonEmpty ? word(rest.slice(2)) : ''
      else if (rest.startsWith('+')) out += set ? word(rest.slice(1)) : ''
      else out += v?.value ?? ''
      continue
    }
    const name = NAME_RE.exec(text.slice(i + 1))?.[0]
    if (!name) {
      out += c
      i++
      continue
    }
    out += lookup(name)?.value ?? ''
    i += 1 + name.length
  }
  return { value: out, deps }
}

function matchingBrace(text: string, open: number): number {
  let depth = 0
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++
    else if (text[i] === '}' && --depth === 0) return i
  }
  return -1
}

/** The platform ARG values for one (target, build) pair, as BuildKit defines them. */
export function platformArgs(target: Platform, build: Platform): Record<(typeof PLATFORM_ARGS)[number], string> {
  const t = normalizePlatform(target)
  const b = normalizePlatform(build)
  return {
    BUILDPLATFORM: formatPlatform(b),
    BUILDOS: b.os,
    BUILDARCH: b.architecture,
    BUILDVARIANT: b.variant ?? '',
    TARGETPLATFORM: formatPlatform(t),
    TARGETOS: t.os,
    TARGETARCH: t.architecture,
    TARGETVARIANT: t.variant ?? ''
  }
}

/**
 * The global-scope variables. Without platforms, each platform ARG stands for itself
 * (`${TARGETARCH}`) and is tracked as a dependency, so one pass serves every platform.
 */
function metaVars(df: Pick<Dockerfile, 'globalArgs' | 'buildArgs' | 'escape'>, platforms?: { target: Platform; build: Platform }): Vars {
  const vars: Vars = new Map()
  const auto = platforms ? platformArgs(platforms.target, platforms.build) : undefined
  for (const name of PLATFORM_ARGS) {
    vars.set(name, { value: auto ? auto[name] : `\${${name}}`, deps: new Set([name]) })
  }
  for (const arg of df.globalArgs) {
    // The automatic platform values win over a redeclaration.
    if ((PLATFORM_ARGS as readonly string[]).includes(arg.name)) continue
    if (Object.hasOwn(df.buildArgs, arg.name)) {
      vars.set(arg.name, { value: df.buildArgs[arg.name], deps: new Set() })
    } else if (arg.rawDefault !== undefined) {
      const e = expand(arg.rawDefault, vars, df.escape)
      vars.set(arg.name, { value: e.value, deps: e.deps })
    } else {
      vars.set(arg.name, { value: undefined, deps: new Set() })
    }
  }
  return vars
}

/** `NAME=value` and `NAME` words of an ARG instruction. */
function argDeclarations(args: string): Array<{ name: string; rawDefault?: string }> {
  return splitWords(args).map(word => {
    const eq = word.indexOf('=')
    return eq < 0 ? { name: word } : { name: word.slice(0, eq), rawDefault: word.slice(eq + 1) }
  })
}

function parseBuildArgs(items: string[], env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const item of items) {
    const eq = item.indexOf('=')
    if (eq < 0) {
      const value = env[item.trim()]
      if (value !== undefined) out[item.trim()] = value
    } else {
      out[item.slice(0, eq).trim()] = item.slice(eq + 1)
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// Stages

interface Flags {
  flags: Map<string, string[]>
  rest: string[]
}

/** Leading `--name=value` / `--name` words; BuildKit takes flags only before the first other word. */
function parseFlags(args: string): Flags {
  const words = splitWords(args)
  const flags = new Map<string, string[]>()
  let i = 0
  for (; i < words.length; i++) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(.*))?$/s.exec(words[i]!)
    if (!m) break
    const name = m[1]!.toLowerCase()
    flags.set(name, [...(flags.get(name) ?? []), m[2] ?? ''])
  }
  return { flags, rest: words.slice(i) }
}

/** Parses a Dockerfile into its stages, resolving ARGs, the target and what the target needs. */
export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile'
  const { instructions, directives, escape } = parseInstructions(text)
  const df: Dockerfile = {
    stages: [],
    target: -1,
    reachable: [],
    globalArgs: [],
    buildArgs: parseBuildArgs(options.buildArgs ?? [], options.env ?? {}),
    directives,
    escape
  }

  let current: Stage | undefined
  let meta: Vars | undefined
  let local: Vars = new Map()
  // Refs are resolved once every stage name is known: COPY --from may name a later stage.
  const pending: Array<{ stage: Stage; line: number; via: StageRef['via']; raw: string; value: string }> = []
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      meta ??= metaVars(df)
      current = fromStage(df, ins, meta)
      df.stages.push(current)
      // Inside a stage only the platform ARGs are predefined; a global ARG needs redeclaring.
      local = new Map(PLATFORM_ARGS.map(name => [name, meta!.get(name)!]))
      continue
    }
    if (!current) {
      if (ins.keyword === 'ARG') {
        for (const decl of argDeclarations(ins.args)) df.globalArgs.push({ ...decl, line: ins.line })
      }
      continue
    }
    current.instructions.push(ins)
    switch (ins.keyword) {
      case 'ARG':
        for (const decl of argDeclarations(ins.args)) {
          if ((PLATFORM_ARGS as readonly string[]).includes(decl.name)) continue
          if (Object.hasOwn(df.buildArgs, decl.name)) {
            local.set(decl.name, { value: df.buildArgs[decl.name], deps: new Set() })
          } else if (decl.rawDefault !== undefined) {
            const e = expand(decl.rawDefault, local, escape)
            local.set(decl.name, { value: e.value, deps: e.deps })
          } else {
            local.set(decl.name, meta!.get(decl.name) ?? { value: undefined, deps: new Set() })
          }
        }
        break
      case 'RUN':
        current.runs.push(ins)
        for (const mount of parseFlags(ins.args).flags.get('mount') ?? []) {
          const from = mountFrom(mount)
          if (from !== undefined) {
            pending.push({ stage: current, line: ins.line, via: 'RUN --mount', raw: from, value: expand(from, local, escape).value })
          }
        }
        break
      case 'COPY': {
        const from = parseFlags(ins.args).flags.get('from')?.at(-1)
        if (from !== undefined) {
          pending.push({ stage: current, line: ins.line, via: 'COPY --from', raw: from, value: expand(from, local, escape).value })
        }
        break
      }
    }
  }
  if (df.stages.length === 0) {
    throw new Error(`${file} has no FROM instruction: it defines no stage to build`)
  }
  for (const p of pending) {
    p.stage.refs.push({ line: p.line, via: p.via, raw: p.raw, value: p.value, stages: refStages(df.stages, p.stage.index, p.value) })
  }

  if (options.target) {
    const wanted = options.target.toLowerCase()
    const found = df.stages.find(s => s.name === wanted)
    if (!found) {
      const names = df.stages.flatMap(s => (s.name ? [s.name] : []))
      throw new InputError(
        'target',
        `"${options.target}" is not a stage of ${file}: ` +
          (names.length ? `its stages are ${names.join(', ')}` : 'none of its stages has a name (FROM ... AS name)')
      )
    }
    df.target = found.index
  } else {
    df.target = df.stages.length - 1
  }
  df.reachable = reachable(df.target, i => {
    const s = df.stages[i]!
    return [...s.baseStages, ...s.refs.flatMap(r => r.stages)]
  })
  return df
}

function fromStage(df: Dockerfile, ins: Instruction, meta: Vars): Stage {
  const { flags, rest } = parseFlags(ins.args)
  const rawImage = rest[0] ?? ''
  const name = rest.length >= 3 && rest[1]!.toLowerCase() === 'as' ? rest[2]!.toLowerCase() : undefined
  const image = expand(rawImage, meta, df.escape)
  const rawPlatform = flags.get('platform')?.at(-1)
  const stage: Stage = {
    index: df.stages.length,
    line: ins.line,
    ...(name !== undefined ? { name } : {}),
    rawImage,
    image: image.value,
    imagePlatformArgs: [...image.deps].sort(),
    base: 'external',
    baseStages: [],
    runsOn: 'target',
    instructions: [ins],
    runs: [],
    refs: []
  }
  // FROM names an earlier stage before an image of the same name.
  stage.baseStages = matchStages(df.stages, image.value, stage.index).filter(i => i < stage.index)
  if (stage.baseStages.length > 0) {
    stage.base = 'stage'
    // BuildKit gives a stage built on another stage that stage's platform.
    const bases = stage.baseStages.map(i => df.stages[i]!)
    const first = bases[0]!
    if (bases.every(b => b.runsOn === first.runsOn && b.fixedPlatform === first.fixedPlatform)) {
      stage.runsOn = first.runsOn
      if (first.fixedPlatform !== undefined) stage.fixedPlatform = first.fixedPlatform
    }
    return stage
  }
  if (image.value.toLowerCase() === 'scratch') stage.base = 'scratch'
  if (rawPlatform !== undefined) {
    const p = expand(rawPlatform, meta, df.escape)
    stage.rawPlatform = rawPlatform
    stage.platform = p.value
    if ([...p.deps].some(d => d.startsWith('TARGET'))) stage.runsOn = 'target'
    else if (p.deps.size > 0) stage.runsOn = 'build'
    else if (p.value.trim() !== '') {
      stage.runsOn = 'fixed'
      stage.fixedPlatform = formatPlatform(normalizePlatform(splitPlatform(p.value)))
    }
  }
  return stage
}

/**
 * Stages a name can refer to. A name holding platform ARGs (`build-${TARGETARCH}`) matches
 * every stage its pattern fits; the concrete one is picked per platform by `stagesFor`.
 */
function matchStages(stages: Stage[], value: string, self: number): number[] {
  const lower = value.toLowerCase()
  const exact = stages.filter(s => s.index !== self && s.name === lower)
  if (exact.length > 0) return [exact[exact.length - 1]!.index]
  if (!/\$\{[A-Z]+\}/.test(value)) return []
  const pattern = new RegExp(
    `^${lower
      .split(/\$\{[a-z]+\}/)
      .map(part => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[a-z0-9._-]*')}$`
  )
  return stages.filter(s => s.index !== self && s.name !== undefined && pattern.test(s.name)).map(s => s.index)
}

function refStages(stages: Stage[], self: number, value: string): number[] {
  const named = matchStages(stages, value, self)
  if (named.length > 0) return named
  if (/^\d+$/.test(value) && Number(value) < stages.length && Number(value) !== self) return [Number(value)]
  return []
}

function mountFrom(mount: string): string | undefined {
  for (const field of mount.split(',')) {
    const eq = field.indexOf('=')
    if (eq > 0 && field.slice(0, eq).trim().toLowerCase() === 'from') return field.slice(eq + 1).trim()
  }
  return undefined
}

function reachable(start: number, next: (i: number) => number[]): number[] {
  const seen = new Set<number>()
  const queue = [start]
  while (queue.length > 0) {
    const i = queue.pop()!
    if (seen.has(i)) continue
    seen.add(i)
    queue.push(...next(i))
  }
  return [...seen].sort((a, b) => a - b)
}

/** An image one stage pulls for one target platform. */
export interface ImageUse {
  image: string
  line: number
  via: 'FROM' | StageRef['via']
}

/** A reachable stage as BuildKit builds it for one target platform. */
export interface StagePlan {
  index: number
  /** The platform its steps execute on and its images are pulled for. */
  platform: Platform
  /** Its base stage, for base `stage`. */
  baseStage?: number
  /** External images it pulls: its base image, COPY --from and RUN --mount images. */
  images: ImageUse[]
}

/**
 * The stages BuildKit builds for one target platform, ascending, with every platform ARG
 * resolved: which stage a platform-dependent name picks, which images are pulled, and
 * for which platform each stage executes.
 */
export function stagesFor(df: Dockerfile, target: Platform, build: Platform): StagePlan[] {
  const vars = metaVars(df, { target, build })
  const concrete = (value: string): string => (value.includes('${') ? expand(value, vars, df.escape).value : value)
  const pick = (candidates: number[], value: string): number | undefined => {
    if (candidates.length <= 1) return candidates[0]
    const name = concrete(value).toLowerCase()
    return candidates.find(i => df.stages[i]!.name === name)
  }
  const plans = new Map<number, StagePlan>()
  const platformOf = (i: number): Platform => {
    const known = plans.get(i)
    if (known) return known.platform
    const s = df.stages[i]!
    const base = pick(s.baseStages, s.image)
    if (base !== undefined) return platformOf(base)
    const value = s.platform !== undefined ? concrete(s.platform).trim() : ''
    return value ? normalizePlatform(splitPlatform(value)) : normalizePlatform(target)
  }
  for (const s of df.stages) {
    const plan: StagePlan = { index: s.index, platform: platformOf(s.index), images: [] }
    const base = pick(s.baseStages, s.image)
    if (base !== undefined) plan.baseStage = base
    else if (s.base !== 'scratch') {
      // A platform-dependent name no stage carries is an image name to BuildKit.
      const image = concrete(s.image)
      if (image.toLowerCase() !== 'scratch') plan.images.push({ image, line: s.line, via: 'FROM' })
    }
    plans.set(s.index, plan)
  }
  const deps = new Map<number, number[]>()
  for (const s of df.stages) {
    const plan = plans.get(s.index)!
    const next = plan.baseStage !== undefined ? [plan.baseStage] : []
    for (const ref of s.refs) {
      const stage = pick(ref.stages, ref.value)
      if (stage !== undefined) next.push(stage)
      else plan.images.push({ image: concrete(ref.value), line: ref.line, via: ref.via })
    }
    deps.set(s.index, next)
  }
  return reachable(df.target, i => deps.get(i) ?? []).map(i => plans.get(i)!)
}

/** How a stage is shown in messages: its name, or its index as BuildKit numbers it. */
export function stageLabel(stage: Pick<Stage, 'name' | 'index'>): string {
  return stage.name ?? `#${stage.index}`
}

/** The external images the Dockerfile pulls FROM (as far as their names resolve without a platform). */
export function externalImages(df: Dockerfile): string[] {
  return [...new Set(df.stages.filter(stage => stage.base === 'external' && stage.image && !stage.image.includes('$')).map(stage => stage.image))]
}
