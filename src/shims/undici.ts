// Stands in for `undici` in the bundle (tsconfig.json "paths" maps the package here). Only
// @actions/http-client and @actions/github import it, at their top: for the proxy agent and
// for a fetch that goes through it. The releases lookup sends its requests through node:http
// unless a proxy is set, so the 0.9 MB package is loaded (its own chunk) only for a proxy:
// `loadUndici` must have run before a proxy agent or this fetch is used.
import type * as Real from '../../node_modules/undici/index.js'

let real: typeof Real | undefined

function loaded(): typeof Real {
  if (!real) throw new Error('undici is used before loadUndici()')
  return real
}

export async function loadUndici(): Promise<void> {
  real ??= await import('../../node_modules/undici/index.js')
}

// A class whose constructor returns the real agent, so `new ProxyAgent(...)` gives undici's own.
export const ProxyAgent = class {
  constructor(...args: ConstructorParameters<typeof Real.ProxyAgent>) {
    return new (loaded().ProxyAgent)(...args)
  }
} as unknown as typeof Real.ProxyAgent

export const fetch: typeof Real.fetch = async (input, init) => loaded().fetch(input, init)
