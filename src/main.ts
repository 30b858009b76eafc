import * as core from '@actions/core'
import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { build, mergeLabels, type BuildPlan } from './build.js'
import { appendArgs, firstNodePlatforms } from './append.js'
import { writeArchives } from './archive.js'
import { buildkitdConfig, builderName, createBuilder, withHostNetwork } from './builder.js'
import { scopeGhaCache } from './cache.js'
import { indexAnnotations, mergeRelease, pushByDigestOutput } from './merge.js'
import { checkBuildx, installBuildx } from './buildx.js'
import { readRunContext, type RunContext } from './context.js'
import { planLogins, type Credential } from './credentials.js'
import { missingPlatforms, platformDigests } from './digests.js'
import { DockerCli, type Docker } from './docker.js'
import { createPrivateConfig, userDockerConfig } from './dockerconfig.js'
import { checkManifests, emulationTargets, preflight, PreflightError, readDockerfile, smokeTests, verifyBinaries } from './checks.js'
import type { Dockerfile } from './dockerfile.js'
import { latestFromReleases } from './latest.js'
import { describeFailure } from './retry.js'
import { retrying } from './retrying.js'
import { secretBuildArgsWarning, secretLookingBuildArgs } from './secretargs.js'
import { concurrently, phase, type PhaseLog } from './phases.js'
import { Input, readInputs, type Inputs } from './inputs.js'
import { login } from './login.js'
import { writeFailureSummary, writeOutputs, type ReleaseResult } from './outputs.js'
import { formatPlatform, hostPlatform, type Platform } from './platforms.js'
import { installEmulators, planEmulation, readEmulators } from './qemu.js'
import { isLoopbackRegistry, registryHost } from './reference.js'
import * as state from './state.js'
import { deriveTags, imageRefs, ociLabels, type TagPlan } from './tags.js'

/** Everything main decides before the first side effect. */
export interface ReleasePlan {
  ctx: RunContext
  inputs: Inputs
  tags: TagPlan
  refs: string[]
  push: boolean
  logins: Credential[]
  /** merge-digests given: no build, an index from the legs. */
  merging: boolean
}

export function planRelease(ctx: RunContext, inputs: Inputs): ReleasePlan {
  const tags = deriveTags(ctx, { version: inputs.version, tags: inputs.tags, latest: inputs.latest })
  const push = inputs.push === 'true' || (inputs.push === 'auto' && !isPullRequest(ctx.eventName))
  // Without a push nothing needs the job token; explicit credentials still serve private base images.
  const logins = planLogins(inputs.credentials, push ? inputs.images : [], inputs.githubToken, ctx.actor)
  return { ctx, inputs, tags, refs: imageRefs(inputs.images, tags.tags), push, logins, merging: Object.keys(inputs.mergeDigests).length > 0 }
}

function isPullRequest(eventName: string): boolean {
  return eventName === 'pull_request' || eventName === 'pull_request_target'
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
    await checkLatest(plan)
    core.info(`Version ${plan.tags.version}; ${plan.tags.latestReason}`)
    const result = await release(docker, plan, df, workspace)
    await writeOutputs(result)
  } catch (e: unknown) {
    if (e instanceof PreflightError) await writeFailureSummary(e.reports)
    core.setFailed(describeFailure(e))
  }
}

async function release(cli: DockerCli, plan: ReleasePlan, df: Dockerfile | undefined, workspace: string): Promise<ReleaseResult> {
  const { inputs } = plan
  const docker = retrying(cli, { retries: inputs.retries, log: message => core.warning(message) })
  const tempDir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'multiarch-release-'))

  await phase('Buildx', async log => {
    if (inputs.buildxVersion) {
      cli.buildxPath = await installBuildx(inputs.buildxVersion)
      state.saveBuildxPath(cli.buildxPath)
    }
    log.info(`buildx ${await checkBuildx(docker)}`)
  })

  if (plan.logins.length > 0 && inputs.logout) {
    // Saved first: the post step removes it even if the step dies mid-login.
    const dir = path.join(tempDir, 'docker-config')
    state.saveDockerConfig(dir)
    createPrivateConfig(userDockerConfig(), dir, plan.logins.map(c => c.registry))
    process.env.DOCKER_CONFIG = dir
  }

  if (plan.merging) return merge(docker, plan)

  let builder = ''
  let reports: string[] = []
  let loggedIn: Promise<void> = Promise.resolve()
  await concurrently([
    { name: 'Login', run: log => (loggedIn = logIn(docker, plan, log)) },
    // After the login (private base images), beside the builder's bootstrap: a gap fails the step before any build.
    ...(inputs.preflight !== 'false' && (df || inputs.composeFile)
      ? [{ name: 'Preflight', run: async (log: PhaseLog) => { await loggedIn; reports = await preflight(docker, inputs, df, workspace, log) } }]
      : []),
    { name: 'QEMU', run: log => setUpEmulation(docker, inputs, emulationTargets(inputs, df, inputs.smokeTest !== '' && plan.push, log), log) },
    {
      name: 'Builder',
      run: async log => {
        builder = await setUpBuilder(docker, plan, tempDir, log)
      }
    }
  ])

  const metadataFile = path.join(tempDir, 'metadata.json')
  // One plan for the build and the archives: a second one would stamp another created label.
  const built = buildPlan(plan, builder, metadataFile)
  await phase(plan.push ? 'Build and push' : 'Build', () => build(docker, built))

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
  if (!plan.push) return result

  await phase('Digests', async log => {
    const digest = (JSON.parse(metadata) as Record<string, unknown>)['containerimage.digest']
    if (typeof digest !== 'string' || !digest) {
      throw new Error(`buildx wrote no containerimage.digest to its metadata file: ${metadata}`)
    }
    result.digest = digest
    result.digests = await readDigests(docker, builder, `${inputs.images[0]}@${digest}`, digest, plan)
    for (const [platform, platformDigest] of Object.entries(result.digests)) log.info(`${platform}  ${platformDigest}`)
    await checkManifests(inputs, result.digests, log)
    if (inputs.pushByDigest) {
      // What a merge needs: the pushed digest, which also carries the leg's attestations.
      result.platformOutputs = Object.fromEntries(Object.keys(result.digests).map(platform => [platform, digest]))
      log.info(`pushed by digest: ${inputs.images[0]}@${digest}`)
    }
  })
  if (inputs.verify !== 'false') await phase('Verify binaries', log => verifyBinaries(docker, inputs, result.digests, log))
  if (inputs.smokeTest) await phase('Smoke test', log => smokeTests(docker, inputs, result.digests, log))
  if (gatesTags(plan)) {
    // Checked while still untagged: only now does the release reach anyone pulling a tag.
    await phase('Tag', async log => {
      await docker.buildx(['imagetools', 'create', '--builder', builder, ...plan.refs.flatMap(ref => ['--tag', ref]), `${inputs.images[0]}@${result.digest}`], {
        silent: true
      })
      for (const ref of plan.refs) log.info(ref)
    })
  }
  return result
}

/**
 * Checks that can fail a release (verify: strict, a smoke test) run before the tags move:
 * the build pushes by digest, and the tags follow once the checks pass.
 */
function gatesTags(plan: ReleasePlan): boolean {
  const { inputs } = plan
  return plan.push && !inputs.pushByDigest && (inputs.verify === 'strict' || inputs.smokeTest !== '')
}

/** latest: auto tags latest (and 1.2, 1) only for the highest stable release of each, so a back-port never moves them back. */
async function checkLatest(plan: ReleasePlan): Promise<void> {
  const { inputs, ctx, tags } = plan
  if (!plan.push || plan.inputs.pushByDigest || inputs.latest !== 'auto' || !tags.latest || !tags.semver) return
  const { major, minor, patch } = tags.semver
  const decision = await latestFromReleases({ version: `${major}.${minor}.${patch}`, repository: ctx.repository, token: inputs.githubToken, apiUrl: ctx.apiUrl })
  if (decision.warning) core.warning(decision.warning)
  const dropped = new Set((decision.outranked ?? []).map(o => o.tag))
  for (const o of decision.outranked ?? []) core.info(`no ${o.tag}: the release ${o.by} is higher in that line`)
  tags.latestReason = decision.reason
  if (!decision.latest) {
    dropped.add('latest')
    tags.latest = false
  }
  if (dropped.size === 0) return
  tags.tags = tags.tags.filter(t => !dropped.has(t))
  plan.refs = imageRefs(inputs.images, tags.tags)
}

async function merge(docker: Docker, plan: ReleasePlan): Promise<ReleaseResult> {
  const { inputs, ctx } = plan
  const result: ReleaseResult = { version: plan.tags.version, images: inputs.images, tags: plan.refs, pushed: plan.push, digest: '', digests: {}, metadata: '{}' }
  await phase('Login', log => logIn(docker, plan, log))
  if (!plan.push) {
    core.info('push is off for this event: no index is created from the legs')
    return result
  }
  const generated = ociLabels(ctx, plan.tags.version, new Date().toISOString(), ctx.repository.split('/')[1] ?? '')
  const { annotations, skipped } = indexAnnotations(generated, inputs.annotations)
  for (const annotation of skipped) {
    core.warning(`annotation "${annotation}" is left out of the merged index: imagetools create writes only index: annotations`, { title: Input.annotations })
  }
  const merged = await phase('Merge', async log => {
    const m = await mergeRelease(docker, { images: inputs.images, refs: plan.refs, digests: inputs.mergeDigests, annotations })
    for (const [platform, digest] of Object.entries(m.digests)) log.info(`${platform}  ${digest}`)
    return m
  })
  for (const warning of merged.warnings) core.warning(warning)
  return { ...result, digest: merged.digest, digests: merged.digests }
}

async function setUpEmulation(docker: Docker, inputs: Inputs, targets: Platform[], log: PhaseLog): Promise<void> {
  const emulation = planEmulation(targets, hostPlatform(), readEmulators(), inputs.qemu)
  if (emulation.native.length) log.info(`native: ${emulation.native.join(', ')}`)
  if (emulation.emulated.length) log.info(`already emulated: ${emulation.emulated.join(', ')}`)
  if (emulation.uncovered.length) {
    log.warning(`qemu is false and no emulator is registered for ${emulation.uncovered.join(', ')}: RUN steps for them will fail with "exec format error"`)
  }
  if (emulation.install.length === 0) {
    log.info('no emulator to install')
    return
  }
  log.info(`installing emulators: ${emulation.install.join(', ')}`)
  await installEmulators(docker, inputs.qemuImage, emulation, targets)
}

async function logIn(docker: Docker, plan: ReleasePlan, log: PhaseLog): Promise<void> {
  if (plan.logins.length === 0) {
    log.info('no registry credentials given: not logging in')
    return
  }
  const done: string[] = []
  for (const credential of plan.logins) {
    if (plan.inputs.logout) state.saveLogins([...done, credential.registry])
    await login(docker, credential)
    done.push(credential.registry)
    log.info(`logged in to ${credential.registry} as ${credential.username}`)
  }
}

async function setUpBuilder(docker: Docker, plan: ReleasePlan, tempDir: string, log: PhaseLog): Promise<string> {
  const { inputs, ctx } = plan
  if (inputs.builder) {
    log.info(`using the existing builder ${inputs.builder}`)
    return inputs.builder
  }
  if (inputs.driver === 'docker') {
    log.info("driver docker: building with the Docker engine's own builder")
    return 'default'
  }
  const name = builderName(ctx.runId, ctx.runAttempt, crypto.randomBytes(3).toString('hex'))
  const cacheRefs = [...inputs.cacheFrom, ...inputs.cacheTo].flatMap(c => /(?:^|,)ref=([^,]+)/.exec(c)?.[1] ?? [])
  const network = withHostNetwork(inputs.driver, inputs.driverOpts, [...inputs.images, ...cacheRefs], ref => isLoopbackRegistry(registryHost(ref)))
  if (network.reason) log.info(network.reason)
  const userConfig = inputs.buildkitdConfig
    ? fs.readFileSync(path.resolve(process.env.GITHUB_WORKSPACE || process.cwd(), inputs.buildkitdConfig), 'utf8')
    : inputs.buildkitdConfigInline
  const config = buildkitdConfig(userConfig, { insecureRegistries: inputs.insecureRegistries, registryMirrors: inputs.registryMirrors })
  for (const host of config.skipped) {
    log.warning(`the BuildKit config already has a [registry."${host}"] section; insecure-registries/registry-mirrors leave it as it is`)
  }
  let configFile = ''
  if (config.toml) {
    configFile = path.join(tempDir, 'buildkitd.toml')
    fs.writeFileSync(configFile, config.toml)
  }
  if (inputs.cleanup) state.saveBuilder(name)
  await createBuilder(docker, {
    name,
    driver: inputs.driver,
    driverOpts: network.driverOpts,
    endpoint: inputs.endpoint,
    configFile,
    platforms: (inputs.append.length ? firstNodePlatforms(inputs.platforms, inputs.append) : []).map(formatPlatform)
  })
  log.info(`created builder ${name} (${inputs.driver})`)
  for (const node of inputs.append) {
    const opts = withHostNetwork(inputs.driver, node.driverOpts, [...inputs.images, ...cacheRefs], ref => isLoopbackRegistry(registryHost(ref)))
    await docker.buildx(appendArgs(name, { ...node, driverOpts: opts.driverOpts }), { silent: true })
    log.info(`appended node ${node.name || node.endpoint} for ${node.platforms.map(formatPlatform).join(', ') || 'the platforms it reports'}`)
  }
  return name
}

function buildPlan(plan: ReleasePlan, builder: string, metadataFile: string): BuildPlan {
  const { inputs, ctx } = plan
  const generated = ociLabels(ctx, plan.tags.version, new Date().toISOString(), ctx.repository.split('/')[1] ?? '')
  return {
    builder,
    context: inputs.context,
    file: inputs.file,
    platforms: inputs.platforms.map(formatPlatform),
    tags: plan.inputs.pushByDigest ? [] : plan.refs,
    outputs: plan.push && (plan.inputs.pushByDigest || gatesTags(plan)) ? [pushByDigestOutput(inputs.images)] : [],
    labels: mergeLabels(Object.entries(generated).map(([k, v]) => `${k}=${v}`), inputs.labels),
    annotations: inputs.annotations,
    buildArgs: inputs.buildArgs,
    target: inputs.target,
    secrets: inputs.secrets,
    cacheFrom: scopeGhaCache(inputs.cacheFrom, inputs.images[0], inputs.platforms),
    cacheTo: scopeGhaCache(inputs.cacheTo, inputs.images[0], inputs.platforms),
    provenance: inputs.provenance,
    sbom: inputs.sbom,
    noCache: inputs.noCache,
    pull: inputs.pull,
    push: plan.push,
    metadataFile
  }
}

async function readDigests(docker: Docker, builder: string, ref: string, digest: string, plan: ReleasePlan): Promise<Record<string, string>> {
  // --builder: imagetools then uses the registry settings (plain HTTP, mirrors) of the builder that pushed.
  const inspected = await docker.buildx(['imagetools', 'inspect', '--builder', builder, '--raw', ref], { silent: true })
  const found = platformDigests(inspected.stdout, digest, plan.inputs.platforms)
  const missing = missingPlatforms(found, plan.inputs.platforms)
  if (missing.length > 0) {
    throw new Error(`The pushed index ${ref} has no manifest for ${missing.join(', ')}: the build did not produce every requested platform`)
  }
  return found.platforms
}
