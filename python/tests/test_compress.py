"""connect(compress=...): tf's --compress choice ('auto', 'yes', 'no' or a
level) handed to tfp-client, which alone decides how each transfer moves."""

import hashlib

import pytest


@pytest.mark.parametrize("choice", ["yes", "no", "auto", 3, True])
def test_a_compressed_round_trip_is_the_same_file(tfd, tmp_path, choice):
    data = b"".join(b"line %d of a compressible text\n" % (i % 97) for i in range(200000))
    src = tmp_path / "src.txt"
    src.write_bytes(data)
    name = f"z_{hashlib.sha256(str(choice).encode()).hexdigest()[:8]}.txt"
    with tfd.connect(compress=choice) as s:
        s.put(src, name)
        back = tmp_path / "back.txt"
        s.get(name, back)
    assert (tfd.data / name).read_bytes() == data
    assert back.read_bytes() == data


@pytest.mark.parametrize("bad", ["fast", 0, 20, ""])
def test_a_choice_tf_would_refuse_is_a_value_error(tfd, bad):
    with pytest.raises(ValueError, match="compress"):
        tfd.connect(compress=bad)
