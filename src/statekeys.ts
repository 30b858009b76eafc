/**
 * State keys, written once here. Values never hold a secret: the state file is readable by
 * later steps. A module of its own, without imports: the entry reads two of them before it
 * loads anything else.
 */
export const StateKey = {
  isPost: 'isPost',
  builder: 'builder',
  buildxPath: 'buildxPath',
  dockerConfig: 'dockerConfig',
  logins: 'logins',
  cleaned: 'cleaned'
} as const
