/*
TidalSortError

An Error whose message is meant for the sender of an OSC message. The receiver catches it,
replies `/tidalsort/error <bank> <what>` and changes nothing. Any other Error caught while
handling a message is reported as "internal error: ..." instead.
*/

TidalSortError : Error {

	errorString {
		^"TidalSort: " ++ what
	}
}
