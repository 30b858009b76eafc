// Stands in for `@actions/http-client` in the bundle (tsconfig.json "paths" maps the package
// here). @actions/core imports the client at its top for OIDC tokens, and with it undici
// (0.9 MB), tunnel, http, https and tls: about 25 ms at every start of main and post, although
// only the releases lookup and a buildx download ever make a request. The real client is a
// chunk of its own that `loadHttpClient` brings in; until then the bindings are undefined.
import type * as Real from '../../node_modules/@actions/http-client/lib/index.js'

export let HttpClient: typeof Real.HttpClient
export let HttpClientError: typeof Real.HttpClientError
export let HttpClientResponse: typeof Real.HttpClientResponse
export let HttpCodes: typeof Real.HttpCodes
export let Headers: typeof Real.Headers
export let MediaTypes: typeof Real.MediaTypes
export let getProxyUrl: typeof Real.getProxyUrl
export let isHttps: typeof Real.isHttps

/** Loads the real client; await it before importing a module that uses the client as it loads (@actions/github, @actions/tool-cache). */
export async function loadHttpClient(): Promise<void> {
  if (HttpClient) return
  const real = await import('../../node_modules/@actions/http-client/lib/index.js')
  ;({ HttpClient, HttpClientError, HttpClientResponse, HttpCodes, Headers, MediaTypes, getProxyUrl, isHttps } = real)
}
