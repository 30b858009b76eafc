import * as core from '@actions/core'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { writeArchives } from './archive.js'
import { build } from './build.js'
import { checkManifests, emulationTargets, preflight, PreflightError, readDockerfile, releaseRegistryClients, smokeTests, verifyBinaries } from './checks.js'
import { readRunContext } from './context.js'
import { DockerCli } from './docker.js'
import { createPrivateConfig, userDockerConfig } from './dockerconfig.js'
import { externalImages, type Dockerfile } from './dockerfile.js'
import { Input, readInputs } from './inputs.js'
import { writeFailureSummary, writeOutputs, type ReleaseResult } from './outputs.js'
import { concurrently, heldLog, phase, type PhaseLog } from './phases.js'
import { checkLatest, gatesTags, planRelease, type ReleasePlan } from './plan.js'
import { cleanup } from './post.js'
import { buildPlan, merge, readDigests, tagIndex, tagsAfterBuild } from './publish.js'
import { describeFailure } from './retry.js'
import { retrying } from './retrying.js'
import { secretBuildArgsWarning, secretLookingBuildArgs } from './secretargs.js'
import { installRequestedBuildx, logIn, setUpBuilder, setUpBuildx, setUpEmulation } from './setup.js'
import * as state from './state.js'

/** The main step; its failures fail the step. */
export async function runMain(): Promise<void> {
  await run().catch((e: unknown) => core.setFailed(describeFailure(e)))
}

export async function run(docker: DockerCli = new DockerCli()): Promise<void> {
  state.markMainStarted()
  try {
    const ctx = readRunContext()
    const workspace = process.env.GITHUB_WORKSPACE || process.cwd()
    const inputs = readInputs({ workspace, repository: ctx.repository, actor: ctx.actor })
    for (const notice of inputs.notices) core.notice(notice)
    const secretWarning = secretBuildArgsWarning(secretLookingBuildArgs(inputs.buildArgs))
    if (secretWarning) core.warning(secretWarning, { title: Input.buildArgs })
    const plan = planRelease(ctx, inputs)
    const df = readDockerfile(inputs, workspace, plan.merging)
    const result = await release(docker, plan, df, workspace)
    await writeOutputs(result)
    // Cleaned up here once the release went through, so the post step has nothing to load or
    // run; after a failure or a cancellation the post step does it from the saved state.
    if (await phase('Cleanup', () => cleanup(docker, state.readState(state.savedHere)))) state.markCleaned()
  } catch (e: unknown) {
    if (e instanceof PreflightError) await writeFailureSummary(e.reports)
    core.setFailed(describeFailure(e))
  }
}

/**
 * Two turns of the event loop: @actions/exec writes a call's stdin (the password of a login)
 * right after the spawn, and the pipe is closed only in the next turn; work that holds the
 * loop must not keep the process waiting for that end of input.
 */
async function nextTurns(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise(resolve => setImmediate(resolve))
}

async function release(cli: DockerCli, plan: ReleasePlan, df: Dockerfile | undefined, workspace: string): Promise<ReleaseResult> {
  const { inputs } = plan
  const docker = retrying(cli, { retries: inputs.retries, log: message => core.warning(message) })
  // The releases API answers while docker works. It decides only tags added after the push
  // (latest; 1.2 and 1 of a back-port), never the version tag the build pushes, so only what
  // comes after the build waits for it. Loading its client takes the CPU for a while, so it
  // starts once the first docker calls run; its lines are printed when it is awaited.
  let tagsDecided: Promise<void> | undefined
  const lookup = heldLog()
  const decideTags = (): Promise<void> => (tagsDecided ??= checkLatest(plan, lookup.log))
  // Rejections are awaited in decided(); this keeps one that comes early from counting as unhandled meanwhile.
  void cli.spawned.then(nextTurns).then(decideTags).catch(() => undefined)
  const tempDir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'multiarch-release-'))

  if (plan.logins.length > 0 && inputs.logout) {
    // Saved first: the post step removes it even if the step dies mid-login.
    const dir = path.join(tempDir, 'docker-config')
    state.saveDockerConfig(dir)
    createPrivateConfig(userDockerConfig(), dir, plan.logins.map(c => c.registry))
    process.env.DOCKER_CONFIG = dir
  }

  const decided = async (): Promise<void> => {
    await decideTags()
    lookup.flush()
    core.info(`Version ${plan.tags.version}; ${plan.tags.latestReason}`)
  }
  if (plan.merging) {
    await phase('Buildx', log => setUpBuildx(cli, docker, inputs, log))
    await decided()
    return merge(docker, plan)
  }

  let builder = ''
  let reports: string[] = []
  // Phases that need buildx or a login wait for them; everything else runs at once. The builder
  // needs only the buildx binary, not its version check, so it is created while the check runs:
  // a buildx too old still fails the step, with the check's message (the first phase's).
  const buildxInstalled = installRequestedBuildx(cli, inputs)
  buildxInstalled.catch(() => undefined)
  let buildxReady: Promise<void> = Promise.resolve()
  let loggedIn: Promise<void> = Promise.resolve()
  const checkFirst = inputs.preflight !== 'false' && (df !== undefined || inputs.composeFile !== '')
  await concurrently([
    {
      name: 'Buildx',
      run: log => (buildxReady = setUpBuildx(cli, docker, inputs, log, buildxInstalled))
    },
    { name: 'Login', run: log => (loggedIn = logIn(docker, plan, log)) },
    // After the login (private base images), beside the builder's bootstrap: a gap fails the step before any build.
    ...(checkFirst
      ? [
          {
            name: 'Preflight',
            run: async (log: PhaseLog) => {
              await Promise.all([buildxReady, loggedIn])
              reports = await preflight(docker, inputs, df, workspace, log)
            }
          }
        ]
      : []),
    { name: 'QEMU', run: log => setUpEmulation(docker, inputs, emulationTargets(inputs, df, inputs.smokeTest !== '' && plan.push, log), log) },
    {
      name: 'Builder',
      run: async log => {
        await buildxInstalled
        builder = await setUpBuilder(docker, plan, df ? externalImages(df) : [], workspace, tempDir, log)
      }
    }
  ])

  // Without a push the build carries every tag; nothing waits for a lookup then.
  if (!plan.push) await decided()
  const metadataFile = path.join(tempDir, 'metadata.json')
  // One plan for the build and the archives: a second one would stamp another created label.
  const built = buildPlan(plan, builder, metadataFile)
  // After the push, the digest read, the tags and the checks go over the registry API, one client per repository.
  const clientFor = plan.push ? releaseRegistryClients(inputs) : undefined
  const registry = clientFor?.(inputs.images[0])
  registry?.warmUp()
  await phase(plan.push ? 'Build and push' : 'Build', () => build(docker, built))

  await decided()
  const metadata = fs.existsSync(metadataFile) ? fs.readFileSync(metadataFile, 'utf8') : '{}'
  const result: ReleaseResult = {
    version: plan.tags.version,
    images: inputs.images,
    tags: inputs.pushByDigest ? [] : plan.refs,
    pushed: plan.push,
    digest: '',
    digests: {},
    metadata,
    reports
  }
  if (inputs.archive) {
    await phase('Archives', async log => {
      // Every derived tag, also for a leg pushed by digest, whose build plan has none.
      const archived = await writeArchives(docker, { ...built, tags: plan.refs }, path.resolve(workspace, inputs.archive), {
        image: inputs.images[0],
        version: plan.tags.version,
        format: inputs.archiveFormat,
        compression: inputs.archiveCompression,
        stagingDir: tempDir,
        log: line => log.info(line)
      })
      for (const [platform, steps] of Object.entries(archived.rebuilt)) {
        if (steps.length > 0) log.warning(`the ${platform} archive was not all taken from the build's cache; it ran again: ${steps.join('; ')}`)
      }
      result.archives = archived.archives
    })
  }
  // Set exactly when something was pushed.
  if (!registry) return result

  const digest = (JSON.parse(metadata) as Record<string, unknown>)['containerimage.digest']
  if (typeof digest !== 'string' || !digest) {
    throw new Error(`buildx wrote no containerimage.digest to its metadata file: ${metadata}`)
  }
  result.digest = digest
  const source = { image: inputs.images[0], digest }
  const gated = gatesTags(plan)
  const laterTags = tagsAfterBuild(plan)
  // Started before the phases, so the checks can wait for it; its lines go to the Digests phase.
  const digestsLog = heldLog()
  const digestsRead = readDigests(docker, builder, `${inputs.images[0]}@${digest}`, digest, inputs.platforms, registry, digestsLog.log)
  // Failures are reported by the Digests phase; the checks that need them only skip.
  const digests = (): Promise<Record<string, string> | undefined> => digestsRead.catch(() => undefined)
  // The tags, the index read and the checks after it are independent: all at once.
  await concurrently([
    {
      name: 'Digests',
      run: async log => {
        result.digests = await digestsRead.finally(() => digestsLog.flush(log))
        for (const [platform, platformDigest] of Object.entries(result.digests)) log.info(`${platform}  ${platformDigest}`)
        if (inputs.pushByDigest) {
          // What a merge needs: the pushed digest, which also carries the leg's attestations.
          result.platformOutputs = Object.fromEntries(Object.keys(result.digests).map(platform => [platform, digest]))
          log.info(`pushed by digest: ${inputs.images[0]}@${digest}`)
        }
      }
    },
    ...(!gated && laterTags.length > 0 ? [{ name: 'Tag', run: (log: PhaseLog) => tagIndex(docker, builder, source, laterTags, clientFor, log) }] : []),
    // Both read the pushed manifests over the registry API.
    {
      name: 'Manifest check',
      run: async (log: PhaseLog) => {
        const found = await digests()
        if (found) await checkManifests(inputs, found, registry, log)
      }
    },
    ...(inputs.verify !== 'false'
      ? [
          {
            name: 'Verify binaries',
            run: async (log: PhaseLog) => {
              const found = await digests()
              if (found) await verifyBinaries(inputs, found, registry, log)
            }
          }
        ]
      : [])
  ])
  if (inputs.smokeTest) await phase('Smoke test', log => smokeTests(docker, inputs, result.digests, log))
  // Checked while still untagged: only now does the release reach anyone pulling a tag.
  if (gated) await phase('Tag', log => tagIndex(docker, builder, source, laterTags, clientFor, log))
  return result
}
