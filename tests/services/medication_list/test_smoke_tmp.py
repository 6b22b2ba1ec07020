from medlistkit import read_list, save, statement, version


def test_smoke(world):
    first = save(world, "gp", 0, [statement()])
    assert first.status_code == 201, first.text
    print(first.json())
    doc = read_list(world, "gp")
    assert doc.status_code == 200, doc.text
    print(doc.json())
    assert version(first) == 1
