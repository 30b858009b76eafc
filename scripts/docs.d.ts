/** The README sections docs.js owns: `<!-- inputs:start -->` ... `<!-- outputs:end -->`. */
export declare const SECTIONS: readonly ['inputs', 'outputs']

export type SectionName = (typeof SECTIONS)[number]

export interface Tables {
  /** The inputs table (input | description | default), Markdown without the markers. */
  inputs: string
  /** The outputs table (output | description), Markdown without the markers. */
  outputs: string
}

export declare function markers(name: SectionName): { start: string; end: string }

/** Renders the inputs and outputs tables of an action.yml text; pure. */
export declare function renderTables(actionYamlText: string): Tables

/** What a README holds between a section's markers, trimmed; throws when the markers are missing or repeated. */
export declare function readSection(readme: string, name: SectionName): string

/** The README with each section's content replaced by the given tables. */
export declare function updateReadme(readme: string, tables: Tables): string

/** `- line` / `+ line` for every section that differs from the tables; empty when they agree. */
export declare function describeDrift(readme: string, tables: Tables): string
