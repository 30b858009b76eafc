import type { Docker } from './docker.js'
import type { Credential } from './credentials.js'
import { tail } from './errors.js'

export function loginArgs(credential: Credential): string[] {
  // The password never enters argv: it goes through stdin.
  return ['login', '--username', credential.username, '--password-stdin', credential.registry]
}

export function logoutArgs(registry: string): string[] {
  return ['logout', registry]
}

/** A refused login; carries the CLI's stderr, from which the step's message says what to fix. */
export class LoginError extends Error {
  constructor(
    readonly registry: string,
    readonly stderr: string,
    username: string
  ) {
    super(`Login to ${registry} as ${username} failed:\n${tail(stderr, 3) || 'no error output'}`)
    this.name = 'LoginError'
  }
}

export async function login(docker: Docker, credential: Credential): Promise<void> {
  const result = await docker.run(loginArgs(credential), { input: credential.password, silent: true, allowFailure: true })
  if (result.exitCode !== 0) throw new LoginError(credential.registry, result.stderr, credential.username)
}

export async function logout(docker: Docker, registry: string): Promise<void> {
  await docker.run(logoutArgs(registry), { silent: true })
}
