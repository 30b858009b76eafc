import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { decideLatest, highestStable, latestFromReleases, outrankedLineTags, plainRule, type ReleaseLike } from '../../src/latest.js'

const release = (tag_name: string, extra: Partial<ReleaseLike> = {}): ReleaseLike => ({ tag_name, draft: false, prerelease: false, ...extra })

describe('highestStable', () => {
  test.each<[string, ReleaseLike[], string | undefined]>([
    ['none', [], undefined],
    ['plain semver and v-prefixed', [release('1.2.0'), release('v1.10.0'), release('v1.9.9')], 'v1.10.0'],
    ['drafts and prereleases do not count', [release('v1.0.0'), release('v3.0.0', { draft: true }), release('v2.0.0', { prerelease: true })], 'v1.0.0'],
    ['a semver prerelease published as a release does not count', [release('v1.0.0'), release('v2.0.0-rc.1')], 'v1.0.0'],
    ['tags that are not semver do not count', [release('nightly'), release('release-2024'), release('v1.2')], undefined]
  ])('%s', (_name, releases, tag) => {
    expect(highestStable(releases)?.tag).toBe(tag)
  })
})

describe('decideLatest', () => {
  test.each<[string, ReleaseLike[], boolean, string]>([
    ['1.2.3', [release('v1.2.3'), release('v1.2.2')], true, 'latest: 1.2.3 is the highest stable release'],
    ['1.2.4', [release('v1.2.3')], true, 'latest: 1.2.4 is the highest stable release (the highest published is v1.2.3)'],
    ['1.2.4', [release('v2.0.0'), release('v1.2.3')], false, 'no latest: 1.2.4 is older than the release v2.0.0'],
    ['1.0.0', [], true, 'latest: 1.0.0 is a stable release and no other stable release exists'],
    ['2.0.0-rc.1', [], false, 'no latest: 2.0.0-rc.1 is a prerelease'],
    ['main', [], false, 'no latest: main is not a semver version (set latest: true to force it)']
  ])('%s', (version, releases, latest, reason) => {
    expect(decideLatest(version, releases)).toEqual({ latest, reason })
  })

  test('the plain rule', () => {
    expect(plainRule('3.1.4')).toEqual({ latest: true, reason: 'latest: 3.1.4 is a stable semver release' })
  })
})

/** Stands in for the GitHub REST API: two pages of releases, Link header and all. */
async function fakeApi(pages: ReleaseLike[][], status = 200) {
  const requests: Array<{ url: string; authorization?: string }> = []
  const server = http.createServer((req, res) => {
    requests.push({ url: req.url!, authorization: req.headers.authorization })
    const url = new URL(req.url!, 'http://x')
    if (status !== 200) {
      res.writeHead(status, { 'Content-Type': 'application/json' }).end('{"message":"Server Error"}')
      return
    }
    if (url.pathname !== '/repos/octo-org/octo-repo/releases') {
      res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"Not Found"}')
      return
    }
    const page = Number(url.searchParams.get('page') ?? '1')
    const headers: Record<string, string> = { 'Content-Type': 'application/json' }
    if (page < pages.length) {
      const { port } = server.address() as AddressInfo
      headers.Link = `<http://127.0.0.1:${port}/repos/octo-org/octo-repo/releases?per_page=100&page=${page + 1}>; rel="next"`
    }
    res.writeHead(200, headers).end(JSON.stringify(pages[page - 1] ?? []))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { url, requests, close: () => new Promise<void>(resolve => server.close(() => resolve())) }
}

describe('latestFromReleases through GITHUB_API_URL', () => {
  const saved = process.env.GITHUB_API_URL
  afterEach(() => {
    if (saved === undefined) delete process.env.GITHUB_API_URL
    else process.env.GITHUB_API_URL = saved
  })

  test('reads every page; a higher release on page 2 keeps latest where it is', async () => {
    const api = await fakeApi([[release('v1.2.4'), release('v1.2.3'), release('v3.0.0', { draft: true })], [release('v2.0.0')]])
    process.env.GITHUB_API_URL = api.url
    try {
      const decision = await latestFromReleases({ version: '1.2.4', repository: 'octo-org/octo-repo', token: 'ghs_test' })
      expect(decision).toEqual({ latest: false, reason: 'no latest: 1.2.4 is older than the release v2.0.0' })
      expect(api.requests).toEqual([
        { url: '/repos/octo-org/octo-repo/releases?per_page=100', authorization: 'token ghs_test' },
        { url: '/repos/octo-org/octo-repo/releases?per_page=100&page=2', authorization: 'token ghs_test' }
      ])
    } finally {
      await api.close()
    }
  })

  test('the highest stable release gets latest', async () => {
    const api = await fakeApi([[release('v2.1.0'), release('v2.0.0'), release('v3.0.0-beta.1', { prerelease: true })]])
    process.env.GITHUB_API_URL = api.url
    try {
      expect(await latestFromReleases({ version: '2.1.0', repository: 'octo-org/octo-repo', token: 'ghs_test' })).toEqual({
        latest: true,
        reason: 'latest: 2.1.0 is the highest stable release'
      })
    } finally {
      await api.close()
    }
  })

  test('an API failure warns and falls back to the plain rule', async () => {
    const api = await fakeApi([], 500)
    process.env.GITHUB_API_URL = api.url
    try {
      const decision = await latestFromReleases({ version: '1.0.0', repository: 'octo-org/octo-repo', token: 'ghs_test' })
      expect(decision.latest).toBe(true)
      expect(decision.reason).toBe('latest: 1.0.0 is a stable semver release (the releases of octo-org/octo-repo could not be read)')
      expect(decision.warning).toMatch(
        /^latest: auto could not list the releases of octo-org\/octo-repo \(.*Server Error.*\); tagging latest because 1\.0\.0 is stable, without checking for a higher release$/
      )
    } finally {
      await api.close()
    }
  })

  test('a prerelease never asks the API', async () => {
    const api = await fakeApi([[release('v1.0.0')]])
    process.env.GITHUB_API_URL = api.url
    try {
      expect(await latestFromReleases({ version: '2.0.0-rc.1', repository: 'octo-org/octo-repo', token: 'ghs_test' })).toEqual({
        latest: false,
        reason: 'no latest: 2.0.0-rc.1 is a prerelease'
      })
      expect(api.requests).toEqual([])
    } finally {
      await api.close()
    }
  })

  test('no token: the plain rule, with a warning', async () => {
    const decision = await latestFromReleases({ version: '1.0.0', repository: 'octo-org/octo-repo', token: '', apiUrl: 'http://127.0.0.1:9' })
    expect(decision.latest).toBe(true)
    expect(decision.warning).toBe(
      'latest: auto could not list the releases of octo-org/octo-repo (no github-token); tagging latest because 1.0.0 is stable, without checking for a higher release'
    )
  })
})

describe('outrankedLineTags', () => {
  const rel = (tag_name: string, extra: Partial<{ draft: boolean; prerelease: boolean }> = {}): { tag_name: string; draft: boolean; prerelease: boolean } => ({
    tag_name,
    draft: false,
    prerelease: false,
    ...extra
  })
  test.each<[string, string, string[], Array<{ tag: string; by: string }>]>([
    ['the highest release moves every floating tag', '2.1.0', ['v2.0.0', 'v1.9.0'], []],
    ['a back-port to 1.x keeps 1 and 1.2 when it is the highest of both lines', '1.2.4', ['v2.0.0', 'v1.2.3'], []],
    ['a back-port to 1.1 keeps 1.1 but not 1', '1.1.5', ['v1.2.0', 'v1.1.4'], [{ tag: '1', by: 'v1.2.0' }]],
    ['an older patch keeps neither', '1.1.3', ['v1.1.4', 'v1.2.0'], [{ tag: '1.1', by: 'v1.1.4' }, { tag: '1', by: 'v1.2.0' }]],
    ['0.x has no major tag to protect', '0.3.1', ['v0.4.0'], []],
    ['0.x minor lines still count', '0.3.1', ['v0.3.2'], [{ tag: '0.3', by: 'v0.3.2' }]],
    ['drafts and prereleases never outrank', '1.1.5', [], []]
  ])('%s', (_name, version, tags, expected) => {
    expect(outrankedLineTags(version, tags.map(t => rel(t)))).toEqual(expected)
  })

  test('drafts and prereleases of a higher version are ignored', () => {
    expect(outrankedLineTags('1.1.5', [rel('v1.2.0', { draft: true }), rel('v1.3.0-rc.1', { prerelease: true })])).toEqual([])
  })
})
