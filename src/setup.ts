import * as crypto from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { appendArgs, firstNodePlatforms } from './append.js'
import { buildkitdConfig, builderName, createBuilder, withHostNetwork } from './builder.js'
import { checkBuildx, installBuildx } from './buildx.js'
import type { Docker, DockerCli } from './docker.js'
import type { Inputs } from './inputs.js'
import { login } from './login.js'
import type { PhaseLog } from './phases.js'
import type { ReleasePlan } from './plan.js'
import { formatPlatform, hostPlatform, type Platform } from './platforms.js'
import { installEmulators, planEmulation, readEmulators } from './qemu.js'
import { isLoopbackRegistry, registryHost } from './reference.js'
import * as state from './state.js'

/** The buildx to run: a cached release when buildx-version asks for one, checked for its version. */
export async function setUpBuildx(cli: DockerCli, docker: Docker, inputs: Inputs, log: PhaseLog, installed = installRequestedBuildx(cli, inputs)): Promise<void> {
  await installed
  log.info(`buildx ${await checkBuildx(docker)}`)
}

/** A buildx release from the tool cache when buildx-version asks for one; docker's plugin otherwise. */
export async function installRequestedBuildx(cli: DockerCli, inputs: Inputs): Promise<void> {
  if (!inputs.buildxVersion) return
  cli.buildxPath = await installBuildx(inputs.buildxVersion)
  state.saveBuildxPath(cli.buildxPath)
}

/** Emulators for the target platforms the runner can neither run nor already emulate. */
export async function setUpEmulation(docker: Docker, inputs: Inputs, targets: Platform[], log: PhaseLog): Promise<void> {
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

/** Logs in to every planned registry, each saved for the post step's logout before it happens. */
export async function logIn(docker: Docker, plan: ReleasePlan, log: PhaseLog): Promise<void> {
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

function isLoopbackRef(ref: string): boolean {
  return isLoopbackRegistry(registryHost(ref))
}

/** The builder to build on: the user's, the engine's own (driver docker), or a new one (saved for removal first). */
export async function setUpBuilder(docker: Docker, plan: ReleasePlan, baseImages: string[], workspace: string, tempDir: string, log: PhaseLog): Promise<string> {
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
  // Base images count too: a builder that cannot reach a loopback registry cannot pull from it.
  const registryRefs = [...inputs.images, ...cacheRefs, ...baseImages]
  const network = withHostNetwork(inputs.driver, inputs.driverOpts, registryRefs, isLoopbackRef)
  if (network.reason) log.info(network.reason)
  const userConfig = inputs.buildkitdConfig ? fs.readFileSync(path.resolve(workspace, inputs.buildkitdConfig), 'utf8') : inputs.buildkitdConfigInline
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
    const opts = withHostNetwork(inputs.driver, node.driverOpts, registryRefs, isLoopbackRef)
    await docker.buildx(appendArgs(name, { ...node, driverOpts: opts.driverOpts }), { silent: true })
    log.info(`appended node ${node.name || node.endpoint} for ${node.platforms.map(formatPlatform).join(', ') || 'the platforms it reports'}`)
  }
  return name
}
