// The host's own wording for one string; everything else stays German.
Earshot.setStrings({ send: "Abschicken" });
