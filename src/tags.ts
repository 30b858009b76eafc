import * as semver from 'semver'
import type { RunContext } from './context.js'
import { InputError } from './errors.js'

export type LatestMode = 'auto' | 'true' | 'false'

export interface TagOptions {
  /** Explicit version; empty derives it from the ref. */
  version: string
  /** Extra tag templates, one per element. */
  tags: string[]
  latest: LatestMode
}

export interface TagPlan {
  version: string
  semver?: { major: number; minor: number; patch: number; prerelease: boolean }
  /** Tag names only, deduplicated, in order; `latest` last when present. */
  tags: string[]
  latest: boolean
  /** A sentence for the log saying why `latest` is or is not tagged. */
  latestReason: string
}

export const TAG_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const MAX_TAG_LENGTH = 128
const LATEST = 'latest'

export const PLACEHOLDERS = ['version', 'major', 'minor', 'patch', 'sha', 'ref'] as const
type Placeholder = (typeof PLACEHOLDERS)[number]

interface RefName {
  /** Unsanitized, so "+build" is still there for the semver parser. */
  name: string
  /** Only tags (and explicit versions) are read as semver; a branch called 1.2.3 is just a branch. */
  semverCandidate: boolean
}

interface ParsedVersion {
  version: string
  semver?: TagPlan['semver']
}

export function deriveTags(ctx: RunContext, opts: TagOptions): TagPlan {
  const ref = refName(ctx)
  const explicit = opts.version.trim()
  const parsed = explicit
    ? parseVersion(explicit, true, ctx.prerelease)
    : parseVersion(ref.name, ref.semverCandidate, ctx.prerelease)
  const version = explicit ? validateTag(parsed.version, 'version') : validateDerived(parsed.version, ctx)
  if (version === LATEST) {
    throw new InputError(
      'version',
      `the version "${LATEST}" would be confused with the ${LATEST} tag; set another version and use latest: true instead`
    )
  }

  const tags = [version, ...semverTags(parsed.semver)]
  for (const line of opts.tags) {
    const template = line.trim()
    if (template === '') continue
    tags.push(expandTemplate(template, { version, semver: parsed.semver, sha: ctx.sha, ref: sanitizeTag(ref.name) }))
  }

  const { latest, latestReason } = decideLatest(opts.latest, version, parsed.semver)
  if (latest) tags.push(LATEST)

  return {
    version,
    ...(parsed.semver ? { semver: parsed.semver } : {}),
    tags: [...new Set(tags)],
    latest,
    latestReason
  }
}

/** Every image:tag, all tags of the first image before the next image. */
export function imageRefs(images: string[], tags: string[]): string[] {
  return images.flatMap(image => tags.map(tag => `${image}:${tag}`))
}

export function ociLabels(ctx: RunContext, version: string, created: string, title: string): Record<string, string> {
  const url = `${ctx.serverUrl.replace(/\/+$/, '')}/${ctx.repository}`
  return {
    'org.opencontainers.image.source': url,
    'org.opencontainers.image.revision': ctx.sha,
    'org.opencontainers.image.version': version,
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.title': title,
    'org.opencontainers.image.url': url
  }
}

/** Replaces every character a docker tag cannot hold with `-`. */
export function sanitizeTag(text: string): string {
  return text.replace(/[^A-Za-z0-9_.-]/gu, '-')
}

/** Returns `tag` unchanged when it is a valid docker tag; otherwise names the input that produced it. */
export function validateTag(tag: string, input: string): string {
  const problem = tagProblem(tag)
  if (problem) throw new InputError(input, problem)
  return tag
}

function tagProblem(tag: string): string | undefined {
  const rule = `a docker tag matches ${TAG_PATTERN.source}`
  if (tag === '') return `the tag is empty; ${rule}`
  if (tag.length > MAX_TAG_LENGTH) {
    return `tag "${truncate(tag)}" is ${tag.length} characters long, more than ${MAX_TAG_LENGTH}; ${rule}`
  }
  if (tag.startsWith('.') || tag.startsWith('-')) return `tag "${truncate(tag)}" starts with "${tag[0]}"; ${rule}`
  if (!TAG_PATTERN.test(tag)) return `tag "${truncate(tag)}" holds characters other than A-Z a-z 0-9 _ . -; ${rule}`
  return undefined
}

function refName(ctx: RunContext): RefName {
  if (ctx.prNumber !== undefined) return { name: `pr-${ctx.prNumber}`, semverCandidate: false }
  if (ctx.releaseTag) return { name: ctx.releaseTag, semverCandidate: true }
  const ref = ctx.ref
  const prRef = /^refs\/pull\/(\d+)\//.exec(ref)
  if (prRef) return { name: `pr-${prRef[1]}`, semverCandidate: false }
  if (ref.startsWith('refs/tags/')) return { name: ref.slice('refs/tags/'.length), semverCandidate: true }
  if (ref.startsWith('refs/heads/')) return { name: ref.slice('refs/heads/'.length), semverCandidate: false }
  return { name: ref.split('/').pop() ?? '', semverCandidate: false }
}

// The user never typed a version derived from the ref, so the error says where it came from and how to avoid it.
function validateDerived(version: string, ctx: RunContext): string {
  const source = `ref "${truncate(ctx.ref)}" of the ${ctx.eventName || 'unknown'} event`
  if (version === '') throw new InputError('version', `no version can be derived from ${source}; set the version input`)
  const problem = tagProblem(version)
  if (problem) throw new InputError('version', `${problem} (derived from ${source}; set the version input)`)
  return version
}

function parseVersion(name: string, semverCandidate: boolean, releasePrerelease: boolean): ParsedVersion {
  // Strict parsing: a loose or coerced match would turn tags like "release-2" into versions.
  const parsed = semverCandidate && name === name.trim() ? semver.parse(name) : null
  if (!parsed) return { version: sanitizeTag(name) }
  const build = parsed.build.length > 0 ? `+${parsed.build.join('.')}` : ''
  return {
    // A docker tag has no "+", so build metadata survives as "-build".
    version: sanitizeTag(parsed.version + build),
    semver: {
      major: parsed.major,
      minor: parsed.minor,
      patch: parsed.patch,
      prerelease: parsed.prerelease.length > 0 || releasePrerelease
    }
  }
}

function semverTags(v: TagPlan['semver']): string[] {
  if (!v || v.prerelease) return []
  // 0.x promises no compatibility across minors, so a bare "0" tag would mislead.
  if (v.major === 0) return [`${v.major}.${v.minor}`]
  return [`${v.major}.${v.minor}`, `${v.major}`]
}

function decideLatest(
  mode: LatestMode,
  version: string,
  v: TagPlan['semver']
): { latest: boolean; latestReason: string } {
  switch (mode) {
    case 'true':
      return { latest: true, latestReason: 'latest: forced by latest: true' }
    case 'false':
      return { latest: false, latestReason: 'no latest: latest: false' }
    case 'auto':
      if (!v) {
        return { latest: false, latestReason: `no latest: ${version} is not a semver version (set latest: true to force it)` }
      }
      if (v.prerelease) return { latest: false, latestReason: `no latest: ${version} is a prerelease` }
      return { latest: true, latestReason: `latest: ${version} is a stable semver release` }
    default:
      throw new InputError('latest', `expected auto, true or false, got "${String(mode)}"`)
  }
}

interface TemplateValues {
  version: string
  semver: TagPlan['semver']
  sha: string
  ref: string
}

function expandTemplate(template: string, values: TemplateValues): string {
  const expanded = template.replace(/\{\{\s*([^{}]*?)\s*\}\}/g, (_match, name: string) =>
    placeholderValue(template, name, values)
  )
  const tag = sanitizeTag(expanded)
  if (tag === '') throw new InputError('tags', `template "${truncate(template)}" expands to an empty tag`)
  if (tag === LATEST) {
    throw new InputError('tags', `template "${truncate(template)}" gives "${LATEST}", which only the latest input sets`)
  }
  return validateTag(tag, 'tags')
}

function placeholderValue(template: string, name: string, values: TemplateValues): string {
  if (!isPlaceholder(name)) {
    const known = PLACEHOLDERS.map(p => `{{${p}}}`).join(', ')
    throw new InputError(
      'tags',
      `template "${truncate(template)}" uses unknown placeholder {{${truncate(name)}}}; known: ${known}`
    )
  }
  switch (name) {
    case 'version':
      return values.version
    case 'sha':
      return values.sha.slice(0, 7)
    case 'ref':
      return values.ref
    case 'major':
    case 'minor':
    case 'patch':
      if (!values.semver) {
        throw new InputError(
          'tags',
          `template "${truncate(template)}" uses {{${name}}}, but the version "${truncate(values.version)}" is not semver (MAJOR.MINOR.PATCH)`
        )
      }
      return String(values.semver[name])
  }
}

function isPlaceholder(name: string): name is Placeholder {
  return (PLACEHOLDERS as readonly string[]).includes(name)
}

// By code point, so an emoji on the boundary is not cut into half a surrogate pair.
function truncate(text: string, max = 40): string {
  const chars = Array.from(text)
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : text
}
