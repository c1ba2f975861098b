/*
TidalSortAccess

Decides which senders may talk to the receiver. One responsibility: the allow-list.

	TidalSortAccess(nil)                          // default: loopback only (127.0.0.0/8)
	TidalSortAccess([\loopback, "192.168.1.20"])  // loopback plus one host
	TidalSortAccess(["127.0.0.1"])                // exactly this address

Entries are \loopback (any 127.x.x.x sender), an IPv4 address as a String, or a NetAddr
(its ip is used). A given list replaces the default, so include \loopback when you still
want local senders. Messages from other senders are dropped without a reply.
*/

TidalSortAccess {

	var <entries;

	*new { |allow|
		^super.new.init(allow)
	}

	init { |allow|
		var list;
		list = case
			{ allow.isNil } { [\loopback] }
			{ allow.isString or: { allow.isKindOf(Symbol) } or: { allow.isKindOf(NetAddr) } } { [allow] }
			{ allow.asArray };
		entries = list.collect { |entry| this.prNormalize(entry) };
	}

	allows { |addr|
		var ip;
		if(addr.isNil) { ^false };
		ip = addr.ip;
		^entries.any { |entry|
			if(entry == \loopback) {
				ip.beginsWith("127.")
			} {
				ip == entry
			}
		}
	}

	describe {
		^entries.collect { |entry| entry.asString }.join(", ")
	}

	prNormalize { |entry|
		var parts;
		if(entry.isKindOf(NetAddr)) { ^entry.ip };
		if(entry.isKindOf(Symbol)) { entry = entry.asString };
		if(entry.isString.not) {
			TidalSortError("allow: entries must be \\loopback, an IPv4 address string or a NetAddr, got %"
				.format(entry.cs)).throw
		};
		if(entry == "loopback") { ^\loopback };
		parts = entry.split($.);
		if(parts.size != 4 or: {
			parts.any { |p| p.isEmpty or: { p.size > 3 } or: { p.every(_.isDecDigit).not } or: { p.asInteger > 255 } }
		}) {
			TidalSortError("allow: not an IPv4 address: %".format(entry.cs)).throw
		};
		^entry
	}
}
