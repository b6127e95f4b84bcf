// The shapes of the WebSocket messages (docs/protocol.md), as JSDoc types for tsc. No code.

/** @typedef {{remaining: number, deadline: number | null, given?: number}} Countdown */

/**
 * @typedef {object} Person
 * @property {string} id
 * @property {string} name
 * @property {string} role "facilitator" or "participant"
 * @property {string} state "in", "lobby", ...
 * @property {boolean} [online]
 * @property {number | null} hand when the hand went up (raise order), or null
 * @property {boolean} muted muted by a facilitator
 * @property {boolean} opted_out sits out icebreakers
 * @property {boolean} [camera]
 * @property {boolean} [mic]
 * @property {boolean} [spoken] has spoken in this icebreaker
 * @property {boolean} [creator] opened the facilitator link: cannot be removed or demoted
 */

/**
 * @typedef {object} AgendaRow
 * @property {number} index
 * @property {string} title
 * @property {string | null} [notes]
 * @property {number | null} planned_start
 * @property {number} planned_duration
 * @property {number} elapsed
 * @property {string} state "done", "current", "skipped" or "upcoming"
 * @property {string | null} deck the icebreaker deck's id
 * @property {string | null} deck_title the icebreaker deck's title
 * @property {number | null} per_speaker
 */

/**
 * @typedef {object} IcebreakerView
 * @property {string} [title]
 * @property {string} [how_it_works]
 * @property {string | null} speaker
 * @property {string | null} [prompt]
 * @property {string | null} [up_next]
 * @property {string[]} [not_yet_spoken]
 * @property {number} [round]
 * @property {number} [rounds]
 * @property {boolean} finished
 */

/**
 * @typedef {object} ClockView
 * @property {string} status "waiting", "running", "paused" or "ended"
 * @property {number} index
 * @property {Countdown} meeting
 * @property {Countdown} item
 * @property {Countdown | null} [speaker]
 * @property {number[]} [warn_at]
 * @property {number | null} [ended_at]
 * @property {number} [rest_after_item]
 */

/**
 * @typedef {object} MeetingView
 * @property {string} title
 * @property {string} status
 * @property {boolean} locked
 * @property {boolean} lobby
 * @property {number} max_people
 * @property {number | null} [scheduled_at]
 * @property {boolean} [hard_stop]
 * @property {number} [time_limit]
 * @property {string | null} [sharing] who shares their screen
 * @property {number} [hard_stop_grace] seconds after the time limit a hard stop ends the call
 * @property {boolean} [storage_ok] false while the server cannot save changes (a full disk)
 * @property {number} [lobby_waiting] facilitators only: how many people are knocking
 * @property {string | null} [lobby_notice] facilitators only: set while many knock
 */

/**
 * The `state` message's value.
 * @typedef {object} StateView
 * @property {MeetingView} meeting
 * @property {Person} [you]
 * @property {ClockView} clock
 * @property {AgendaRow[]} agenda
 * @property {IcebreakerView | null} icebreaker
 * @property {Person[]} people
 * @property {number} server_time
 * @property {GroupsView | null} [groups] rounds in small groups (null outside such items)
 * @property {string[]} [avoiding] the people you asked not to be grouped with (private)
 */

/**
 * One small group of a round.
 * @typedef {object} GroupView
 * @property {string} id
 * @property {number} number
 * @property {string[]} members
 * @property {string[]} visitors facilitators visiting it
 * @property {string | null} prompt its icebreaker card, if the item has a deck
 * @property {string | null} deck_title
 */

/**
 * The `state` message's `groups`.
 * @typedef {object} GroupsView
 * @property {number} item
 * @property {number} size
 * @property {number} rounds
 * @property {number} round
 * @property {boolean} running
 * @property {boolean} finished
 * @property {Countdown | null} timer
 * @property {string} [timer_label]
 * @property {number} [warn_at]
 * @property {GroupView | null} yours
 * @property {string | null} visiting
 * @property {boolean} waiting
 * @property {GroupView[]} [all] facilitators only
 * @property {string[]} [main_room] facilitators only
 */

/**
 * The `joined` message's value.
 * @typedef {object} JoinedView
 * @property {Person} [you]
 * @property {number} [server_time]
 * @property {RTCIceServer[]} [ice_servers]
 * @property {string | null} [speaking]
 * @property {Record<string, string>} [notes]
 * @property {Record<string, string>} [note_subjects]
 * @property {{chosen?: string[], line?: string}} [touch]
 * @property {boolean} [media] the server kept this page's media connection (join's `media`)
 */

/** @typedef {{title?: string, message?: string}} LobbyView */
/** @typedef {{seq: number, t: number, person: string, name: string, text: string}} ChatMessage */
/** @typedef {{messages?: ChatMessage[]}} ChatHistory */
/** @typedef {{threshold: number}} Warning */
/** @typedef {{kind: string, own?: boolean, person?: string | null}} TrackInfo */
/** @typedef {{sdp: string, tracks?: Record<string, TrackInfo>}} Offer */
/** @typedef {{reason?: string}} MediaEnded */
/** @typedef {{person?: string | null}} Speaking */
/** @typedef {{constrained?: boolean, paused?: string[]}} Network */
/** @typedef {{person: string, reaction: string, t?: number}} Reaction */
/** @typedef {{round: number, rounds: number, group: string | null, members: string[], reason: string}} Grouped */
/** @typedef {{round: number, rounds: number, left: number}} RoundWarning */
/** @typedef {{text: string, by: string, t?: number}} Broadcast */
/** @typedef {{person: string, name: string, group: string | null}} Help */

/**
 * A refused or failed request, or an `error` message answering none (`type` null).
 * @typedef {{error: string, message: string, id: number | null, type: string | null}} ErrorInfo
 */

/** @typedef {{code: number, reason: string, wasClean: boolean, reconnecting: boolean}} CloseInfo */

export {};
