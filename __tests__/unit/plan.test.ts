// What main decides from the inputs and the event before any side effect: push or not,
// which logins, whether checks gate the tags, and the exact build argv that follows.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { buildArgs } from '../../src/build.js'
import type { RunContext } from '../../src/context.js'
import { readInputs } from '../../src/inputs.js'
import { gatesTags, planRelease, type ReleasePlan } from '../../src/plan.js'
import { buildPlan, buildTags, tagsAfterBuild } from '../../src/publish.js'
import { withInputs } from '../fixtures/inputs.js'

let workspace: string
beforeAll(() => {
  workspace = mkdtempSync(path.join(os.tmpdir(), 'mr-plan-'))
  writeFileSync(path.join(workspace, 'Dockerfile'), 'FROM scratch\n')
})
afterAll(() => rmSync(workspace, { recursive: true, force: true }))

const RELEASE: RunContext = {
  eventName: 'release',
  ref: 'refs/tags/v1.2.3',
  sha: '0123456789abcdef0123456789abcdef01234567',
  repository: 'Octo-Org/Hello-App',
  actor: 'octocat',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  runId: 42,
  runAttempt: 1,
  prerelease: false,
  releaseTag: 'v1.2.3'
}
const PULL_REQUEST: RunContext = { ...RELEASE, eventName: 'pull_request', ref: 'refs/pull/42/merge', prNumber: 42, releaseTag: undefined }

function plan(inputs: Record<string, string>, ctx: RunContext = RELEASE): ReleasePlan {
  const outcome = withInputs({ 'github-token': 'ghs_job', ...inputs }, () =>
    planRelease(ctx, readInputs({ workspace, repository: ctx.repository, actor: ctx.actor }))
  )
  if (outcome.error) throw outcome.error
  return outcome.value!
}

describe('planRelease', () => {
  test.each<[string, Record<string, string>, RunContext, { push: boolean; refs: string[]; logins: string[] }]>([
    [
      'a release with no inputs pushes ghcr.io/<repo> (lower-cased), logged in with the job token',
      {},
      RELEASE,
      {
        push: true,
        refs: ['ghcr.io/octo-org/hello-app:1.2.3', 'ghcr.io/octo-org/hello-app:1.2', 'ghcr.io/octo-org/hello-app:1', 'ghcr.io/octo-org/hello-app:latest'],
        logins: ['ghcr.io as octocat']
      }
    ],
    ['a pull request builds pr-42 without pushing or logging in', {}, PULL_REQUEST, { push: false, refs: ['ghcr.io/octo-org/hello-app:pr-42'], logins: [] }],
    [
      'every pull request event counts, a review as much as a push to the branch',
      {},
      { ...PULL_REQUEST, eventName: 'pull_request_review' },
      { push: false, refs: ['ghcr.io/octo-org/hello-app:pr-42'], logins: [] }
    ],
    [
      'push: true on a pull request pushes',
      { push: 'true', images: 'docker.io/octo/app', username: 'octo', password: 'hub-token' },
      PULL_REQUEST,
      { push: true, refs: ['docker.io/octo/app:pr-42'], logins: ['docker.io as octo'] }
    ],
    [
      'explicit credentials are used even when nothing is pushed (private base images)',
      { push: 'false', images: 'registry.example.com:5000/team/app', username: 'bot', password: 'pw' },
      RELEASE,
      {
        push: false,
        refs: ['registry.example.com:5000/team/app:1.2.3', 'registry.example.com:5000/team/app:1.2', 'registry.example.com:5000/team/app:1', 'registry.example.com:5000/team/app:latest'],
        logins: ['registry.example.com:5000 as bot']
      }
    ]
  ])('%s', (_name, inputs, ctx, expected) => {
    const p = plan(inputs, ctx)
    expect({ push: p.push, refs: p.refs, logins: p.logins.map(l => `${l.registry} as ${l.username}`) }).toEqual(expected)
  })
})

describe('gatesTags, the build argv and the tags added after the push', () => {
  const image = 'registry.example.com/team/app'
  const common = { images: image, platforms: 'linux/amd64,linux/arm64' }
  const refs = ['1.2.3', '1.2', '1', 'latest'].map(tag => `${image}:${tag}`)
  const tagged = refs.flatMap(ref => ['--tag', ref])
  const untagged = ['--output', `type=image,name=${image},push-by-digest=true,name-canonical=true,push=true`]

  test.each<[string, Record<string, string>, boolean, string[], string[]]>([
    ['a plain release pushes its first tag, and the others are added after', {}, false, ['--tag', refs[0]!, '--push'], refs.slice(1)],
    ['verify: true only warns, so it does not hold the tags back', { verify: 'true' }, false, ['--tag', refs[0]!, '--push'], refs.slice(1)],
    ['verify: strict pushes untagged until the scan passes', { verify: 'strict' }, true, untagged, refs],
    ['a smoke test pushes untagged until it passes', { 'smoke-test': 'app --version' }, true, untagged, refs],
    ['push-by-digest pushes untagged, and the merge tags', { 'push-by-digest': 'true' }, false, untagged, []],
    ['nothing pushed, nothing gated: the build has every tag', { push: 'false', 'smoke-test': 'app --version' }, false, tagged, []],
    [
      'two images: the build pushes the first tag of each',
      { images: `${image}\nghcr.io/octo-org/app` },
      false,
      ['--tag', refs[0]!, '--tag', 'ghcr.io/octo-org/app:1.2.3', '--push'],
      [...refs.slice(1), ...['1.2', '1', 'latest'].map(tag => `ghcr.io/octo-org/app:${tag}`)]
    ]
  ])('%s', (_name, inputs, gated, publishArgs, later) => {
    const p = plan({ ...common, ...inputs })
    expect(gatesTags(p)).toBe(gated)
    const args = buildArgs({ ...buildPlan(p, 'b1', '/tmp/metadata.json'), labels: [] })
    const start = args.findIndex(a => a === '--tag' || a === '--output')
    const end = args.indexOf('--metadata-file')
    expect(args.slice(start, end)).toEqual(publishArgs)
    expect(tagsAfterBuild(p)).toEqual(later)
    // Every tag of the release ends up in the registry, by the build or after it.
    if (p.push && !p.inputs.pushByDigest) expect([...buildTags(p), ...later].sort()).toEqual([...p.refs].sort())
  })
})
