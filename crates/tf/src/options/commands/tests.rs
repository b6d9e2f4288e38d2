use super::*;

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[test]
fn parses_and_keeps_each_familys_messages() {
    let g = parse(
        Family::Transfer,
        &s(&["a", "--streams", "99", "--verify", "-", "--bufsz", "0"]),
    )
    .unwrap();
    assert_eq!(g.positional, s(&["a", "-"]));
    assert_eq!((g.num("--streams"), g.num("--bufsz")), (Some(64), Some(1)));
    assert!(g.flag("--verify") && !g.flag("--resume"));
    assert_eq!(
        parse(Family::Transfer, &s(&["--offset"])).unwrap_err(),
        ParseError::Bad("--offset needs a number".into())
    );
    assert_eq!(
        parse(Family::Transfer, &s(&["--jobs", "2"])).unwrap_err(),
        ParseError::Unknown("--jobs".into())
    );
    assert_eq!(
        parse(Family::Tree, &s(&["--jobs", "65"])).unwrap_err(),
        ParseError::Bad("--jobs needs a number 1..64".into())
    );
    assert_eq!(
        parse(Family::Tree, &s(&["-x"])).unwrap_err(),
        ParseError::Unknown("-x".into())
    );
    assert_eq!(parse(Family::Mirror, &s(&["-"])).unwrap().positional, s(&["-"]));
    assert_eq!(parse(Family::Rmdir, &s(&["-x", "-r"])).unwrap().positional, s(&["-x"]));
    let g = parse(Family::Watch, &s(&["d", "--interval", "1e-2", "t"])).unwrap();
    assert_eq!((g.text("--interval"), &g.positional), (Some("1e-2"), &s(&["d", "t"])));
    assert_eq!(
        parse(Family::Watch, &s(&["--interval"])).unwrap_err(),
        ParseError::Bad("--interval needs seconds (e.g. 0.5 or 1e-2)".into())
    );
    assert!(takes_value(Family::Transfer, "--offset") && !takes_value(Family::Transfer, "--verify"));
}
