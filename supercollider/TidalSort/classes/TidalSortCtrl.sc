/*
TidalSortCtrl

Keeps the last boundaries (and labels) of every bank and sends them to Tidal's control input
(Tidal 1.7-1.10: 127.0.0.1:6010 unless cCtrlPort is set). One responsibility: /ctrl.

For a bank named "kick" it sends, both typed as OSC strings:

	/ctrl "tidalsort_kick"        "0 12 30 55"
	/ctrl "tidalsort_kick_labels" "low mid high"     (only when labels were given)

In Tidal: cS "" "tidalsort_kick" (or cS_ / _cS) reads the string. When a bank that had labels is
reloaded without labels, "tidalsort_<bank>_labels" is sent once as "" so Tidal does not keep
stale labels.

Tidal 1.7 reads at most 8,192 bytes of an OSC message on its control port, and a larger one
stops its control input until Tidal restarts. So no message sent here is longer than about
4,100 bytes: a value of more than partSize (4,000) characters is sent in parts, which the
Tidal helpers (haskell/) join again. For generation g (a number per key that grows by one
with every value sent in parts under that key) and slot s = g % 2:

	/ctrl "tidalsort_kick.<s>.0"  "<g>:<first 4,000 characters>"
	...
	/ctrl "tidalsort_kick.<s>.<n-1>"  "<g>:<last characters>"
	/ctrl "tidalsort_kick"  "@<g> <n>"                (sent last)

A reader takes the value under "tidalsort_kick"; if it is "@<g> <n>", it joins the n parts of
slot g % 2, and only if all of them carry "<g>:" (a lost or older part makes the value
unusable, never wrong). The parts of the previous value stay in the other slot until the
header has switched over. A value needs at most maxParts (64) parts; longer values are refused
before anything is loaded (see TidalSortRequest). Parts no longer referenced are sent as "".

clear(bank) sends "" under every key of a bank (so the Tidal helpers fall back) and forgets it.
resend(nil) sends every stored bank again (e.g. after Tidal restarted), resend(bank) one bank.

The same, as tidalsort documents it: docs/protocol.md, "In Tidal: the /ctrl values".
*/

TidalSortCtrl {

	classvar <partSize = 4000, <maxParts = 64;

	var <targets, <values, <partsSent, generations, firstGeneration;

	*new { |targets|
		^super.new.init(targets)
	}

	*key { |bank| ^"tidalsort_" ++ bank.asString }

	*labelsKey { |bank| ^"tidalsort_" ++ bank.asString ++ "_labels" }

	*partKey { |key, slot, index| ^key ++ "." ++ slot ++ "." ++ index }

	// the longest value that can be sent
	*maxValueSize { ^partSize * maxParts }

	// [key, value] pairs of the /ctrl messages that carry value under key, in sending order
	*messages { |key, value, gen|
		var pieces;
		if(value.size <= partSize) { ^[[key, value]] };
		pieces = value.clump(partSize);
		^pieces.collect { |piece, i| [this.partKey(key, gen % 2, i), gen.asString ++ ":" ++ piece] }
		++ [[key, "@% %".format(gen, pieces.size)]]
	}

	init { |argTargets|
		targets = case
			{ argTargets.isNil } { [NetAddr("127.0.0.1", 6010)] }
			{ argTargets == false } { [] }
			{ argTargets.isKindOf(NetAddr) } { [argTargets] }
			{ argTargets.isKindOf(Integer) } { [NetAddr("127.0.0.1", argTargets)] }
			{ argTargets.asArray };
		targets.do { |target|
			if(target.isKindOf(NetAddr).not) {
				TidalSortError("tidal: give a NetAddr (or a port, or an Array of NetAddr), got %"
					.format(target.cs)).throw
			}
		};
		values = IdentityDictionary.new;
		partsSent = Dictionary.new;
		generations = Dictionary.new;
		// a fresh start for every session, so parts left in Tidal by an earlier one never match
		firstGeneration = (2 ** 30).asInteger.rand;
	}

	// store and send; labelsString may be nil
	set { |bank, boundariesString, labelsString|
		var previous;
		bank = bank.asSymbol;
		previous = values[bank];
		values[bank] = (boundaries: boundariesString, labels: labelsString);
		this.send(bank);
		if(labelsString.isNil and: { previous.notNil and: { previous[\labels].notNil } }) {
			this.prSendValue(this.class.labelsKey(bank), "")
		};
	}

	// send the stored values of one bank; returns false if none are stored
	send { |bank|
		var entry = values[bank.asSymbol];
		if(entry.isNil) { ^false };
		this.prSendValue(this.class.key(bank), entry[\boundaries]);
		entry[\labels] !? { |labels| this.prSendValue(this.class.labelsKey(bank), labels) };
		^true
	}

	// send "" under every key of the bank (boundaries, labels and their parts) and forget it
	clear { |bank|
		bank = bank.asSymbol;
		this.prSendValue(this.class.key(bank), "");
		this.prSendValue(this.class.labelsKey(bank), "");
		values.removeAt(bank);
		partsSent.removeAt(this.class.key(bank));
		partsSent.removeAt(this.class.labelsKey(bank));
	}

	// bank nil: all banks; returns the number of banks sent
	resend { |bank|
		if(bank.notNil) { ^if(this.send(bank)) { 1 } { 0 } };
		this.banks.do { |name| this.send(name) };
		^values.size
	}

	banks {
		^values.keys.asArray.sort
	}

	// one value, whole or in parts; afterwards "" goes to every part no longer referenced
	prSendValue { |key, value|
		var sent = partsSent[key] ?? { [0, 0] }, messages, stale, gen = generations[key] ? firstGeneration;
		if(value.size > partSize) { gen = gen + 1; generations[key] = gen };
		messages = this.class.messages(key, value, gen);
		messages.do { |pair| this.prSend(*pair) };
		stale = if(messages.size > 1) {
			// this slot now holds messages.size - 1 parts; the other slot the previous value
			[[gen % 2, messages.size - 1]]
		} {
			[[0, 0], [1, 0]]
		};
		stale.do { |pair|
			var slotIndex = pair[0], keep = pair[1];
			if(sent[slotIndex] > keep) {
				(keep .. sent[slotIndex] - 1).do { |i| this.prSend(this.class.partKey(key, slotIndex, i), "") }
			};
			sent[slotIndex] = keep;
		};
		partsSent[key] = sent;
	}

	prSend { |key, value|
		targets.do { |target|
			try { target.sendMsg('/ctrl', key, value) } { |err| "TidalSort: could not send /ctrl to %: %".format(target, err.errorString).postln }
		}
	}
}
