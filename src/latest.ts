import * as semver from 'semver'
import { fetchOverHttp } from './http.js'
import { getProxyUrl, loadHttpClient } from './shims/http-client.js'
import { loadUndici } from './shims/undici.js'

export interface LatestDecision {
  latest: boolean
  /** Floating tags (1.2, 1) a higher release of the same line holds, which a back-port must leave alone. */
  outranked?: Array<{ tag: string; by: string }>
  /** A sentence for the log saying why. */
  reason: string
  /** Set when the releases could not be read and the plain rule decided; for core.warning. */
  warning?: string
}

export interface LatestOptions {
  /** The version being released, as derived by tags.ts (1.2.3, 1.2.3-rc.1, ...). */
  version: string
  /** owner/repo */
  repository: string
  token: string
  /** The GitHub API base URL: GITHUB_API_URL (https://api.github.com, or a GHES /api/v3). */
  apiUrl?: string
}

export interface ReleaseLike {
  tag_name: string
  draft: boolean
  prerelease: boolean
}

/**
 * The highest stable semver among published releases; drafts, prereleases and tags that
 * are not semver (or carry a prerelease part) do not count.
 */
export function highestStable(releases: ReleaseLike[]): { version: string; tag: string } | undefined {
  let best: { version: semver.SemVer; tag: string } | undefined
  for (const release of releases) {
    if (release.draft || release.prerelease) continue
    const v = semver.parse(release.tag_name.trim())
    if (!v || v.prerelease.length > 0) continue
    if (!best || semver.gt(v, best.version)) best = { version: v, tag: release.tag_name }
  }
  return best ? { version: best.version.version, tag: best.tag } : undefined
}

/**
 * The floating tags of `version` (MAJOR.MINOR, and MAJOR unless it is 0) that a higher
 * stable release of the same line already holds: 1.1.5 after 1.2.0 keeps 1.1 but not 1.
 */
export function outrankedLineTags(version: string, releases: ReleaseLike[]): Array<{ tag: string; by: string }> {
  const current = semver.parse(version)
  if (!current || current.prerelease.length > 0) return []
  const lines = [{ tag: `${current.major}.${current.minor}`, same: (v: semver.SemVer) => v.major === current.major && v.minor === current.minor }]
  if (current.major !== 0) lines.push({ tag: `${current.major}`, same: (v: semver.SemVer) => v.major === current.major })
  const outranked: Array<{ tag: string; by: string }> = []
  for (const line of lines) {
    const best = highestStable(releases.filter(r => {
      const v = semver.parse(r.tag_name.trim())
      return v !== null && line.same(v)
    }))
    if (best && semver.gt(best.version, current)) outranked.push({ tag: line.tag, by: best.tag })
  }
  return outranked
}

/** Pure: whether `version` gets latest (and which floating tags it may move), given the repository's releases. */
export function decideLatest(version: string, releases: ReleaseLike[]): LatestDecision {
  const plain = plainRule(version)
  if (!plain.latest) return plain
  const current = semver.parse(version)!
  const best = highestStable(releases)
  const found = outrankedLineTags(version, releases)
  const outranked = found.length > 0 ? { outranked: found } : {}
  if (best && semver.gt(best.version, current)) {
    return { latest: false, reason: `no latest: ${version} is older than the release ${best.tag}`, ...outranked }
  }
  return {
    ...outranked,
    latest: true,
    reason: best
      ? `latest: ${version} is the highest stable release${semver.eq(best.version, current) ? '' : ` (the highest published is ${best.tag})`}`
      : `latest: ${version} is a stable release and no other stable release exists`
  }
}

/** The rule without the releases: every stable semver version gets latest. */
export function plainRule(version: string): LatestDecision {
  const v = semver.parse(version)
  if (!v) return { latest: false, reason: `no latest: ${version} is not a semver version (set latest: true to force it)` }
  if (v.prerelease.length > 0) return { latest: false, reason: `no latest: ${version} is a prerelease` }
  return { latest: true, reason: `latest: ${version} is a stable semver release` }
}

/**
 * `latest: auto`: tags latest only when this version is the highest stable semver among the
 * repository's releases, so re-releasing a 1.x patch after 2.0 leaves latest on 2.0. When the
 * releases cannot be read, the plain rule decides and `warning` says why.
 */
export async function latestFromReleases(options: LatestOptions): Promise<LatestDecision> {
  const plain = plainRule(options.version)
  if (!plain.latest) return plain
  const [owner, repo] = options.repository.split('/')
  try {
    if (!owner || !repo) throw new Error(`"${options.repository}" is not owner/repo`)
    if (!options.token) throw new Error('no github-token')
    // Loaded on demand: only latest: auto on a stable release needs the REST client.
    await loadHttpClient()
    const baseUrl = options.apiUrl || process.env.GITHUB_API_URL
    // Without a proxy, Octokit's requests go through node:http instead of undici (loading which
    // takes longer than the lookup itself). Through a proxy, @actions/github's own fetch sends
    // them; it makes its proxy agent as it loads, for GITHUB_API_URL, so undici comes first.
    const direct = [baseUrl, process.env.GITHUB_API_URL].every(url => !getProxyUrl(url || 'https://api.github.com'))
    if (!direct) await loadUndici()
    const { getOctokit } = await import('@actions/github')
    const octokit = getOctokit(options.token, { ...(baseUrl ? { baseUrl } : {}), ...(direct ? { request: { fetch: fetchOverHttp } } : {}) })
    const releases = await octokit.paginate(octokit.rest.repos.listReleases, { owner, repo, per_page: 100 })
    return decideLatest(options.version, releases)
  } catch (e: unknown) {
    const detail = e instanceof Error ? e.message : String(e)
    return {
      ...plain,
      reason: `${plain.reason} (the releases of ${options.repository} could not be read)`,
      warning: `latest: auto could not list the releases of ${options.repository} (${detail.split('\n')[0]}); tagging latest because ${options.version} is stable, without checking for a higher release`
    }
  }
}
