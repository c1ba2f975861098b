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

resend(nil) sends every stored bank again (e.g. after Tidal restarted), resend(bank) one bank.
*/

TidalSortCtrl {

	var <targets, <values;

	*new { |targets|
		^super.new.init(targets)
	}

	*key { |bank| ^"tidalsort_" ++ bank.asString }

	*labelsKey { |bank| ^"tidalsort_" ++ bank.asString ++ "_labels" }

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
	}

	// store and send; labelsString may be nil
	set { |bank, boundariesString, labelsString|
		var previous;
		bank = bank.asSymbol;
		previous = values[bank];
		values[bank] = (boundaries: boundariesString, labels: labelsString);
		this.send(bank);
		if(labelsString.isNil and: { previous.notNil and: { previous[\labels].notNil } }) {
			this.prSend(this.class.labelsKey(bank), "")
		};
	}

	// send the stored values of one bank; returns false if none are stored
	send { |bank|
		var entry = values[bank.asSymbol];
		if(entry.isNil) { ^false };
		this.prSend(this.class.key(bank), entry[\boundaries]);
		entry[\labels] !? { |labels| this.prSend(this.class.labelsKey(bank), labels) };
		^true
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

	prSend { |key, value|
		targets.do { |target|
			try { target.sendMsg('/ctrl', key, value) } { |err| "TidalSort: could not send /ctrl to %: %".format(target, err.errorString).postln }
		}
	}
}
