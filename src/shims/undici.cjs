'use strict'
// Stands in for `undici` in the bundle (tsconfig.json "paths" maps the package here). Only
// @actions/http-client and @actions/github import it, at their top: for the proxy agent and
// for a fetch that goes through it. The releases lookup sends its requests through node:http
// unless a proxy is set, so the 0.9 MB package is evaluated only when a proxy needs it.
let real
const load = () => (real ??= require('../../node_modules/undici/index.js'))

module.exports = {
  fetch(input, init) {
    return load().fetch(input, init)
  },
  get ProxyAgent() {
    return load().ProxyAgent
  }
}
