import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'

/** The Docker config directory the job uses: DOCKER_CONFIG, else ~/.docker. */
export function userDockerConfig(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(os.homedir(), '.docker')
}

/**
 * A private Docker config for this step's credentials, so logging in never
 * touches the runner's own config: everything but config.json is linked from
 * the user's directory (builders, contexts, CLI plugins stay shared), and
 * config.json is a copy without the credential store, so our logins land in
 * this directory and vanish with it.
 */
export function createPrivateConfig(userDir: string, dir: string, loginRegistries: string[]): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  // Builders must outlive this directory (cleanup: false), so keep their metadata in the user's.
  fs.mkdirSync(path.join(userDir, 'buildx'), { recursive: true })
  for (const entry of fs.readdirSync(userDir)) {
    if (entry === 'config.json') continue
    const link = path.join(dir, entry)
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(userDir, entry), link)
  }
  let config: Record<string, unknown> = {}
  try {
    config = JSON.parse(fs.readFileSync(path.join(userDir, 'config.json'), 'utf8')) as Record<string, unknown>
  } catch {
    // No config yet, or unreadable: start from an empty one.
  }
  delete config.credsStore
  const helpers = config.credHelpers as Record<string, string> | undefined
  if (helpers) for (const registry of loginRegistries) delete helpers[registry]
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config, null, 2), { mode: 0o600 })
}

export function removePrivateConfig(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true })
}

/**
 * Whether every login into the private config was written to its own config.json: no
 * credential store and no credential helper at all. Then removing the directory removes the
 * credentials, and a logout would only rewrite a file about to go.
 */
export function keepsLoginsInside(dir: string): boolean {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>
    const helpers = config.credHelpers
    return !config.credsStore && (helpers === undefined || (typeof helpers === 'object' && helpers !== null && Object.keys(helpers).length === 0))
  } catch {
    return false
  }
}
