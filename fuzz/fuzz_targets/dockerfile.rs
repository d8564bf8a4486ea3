//! ml.toml and ml.lock texts, split at the first NUL byte → when both
//! parse, the staleness check and the Dockerfile render (prod, and each
//! profile the manifest names), and each pip group's requirements.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(at) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let (Ok(manifest), Ok(lock)) = (
        std::str::from_utf8(&data[..at]),
        std::str::from_utf8(&data[at + 1..]),
    ) else {
        return;
    };
    let (Ok(manifest), Ok(read)) = (
        mlr::manifest::parse(manifest, "ml.toml"),
        mlr::lock::parse(lock, "ml.lock"),
    ) else {
        return;
    };
    let _ = mlr::lock::satisfies(&manifest, &read);
    let _ = mlr::render::dockerfile(&manifest, &read.lock);
    for name in manifest.profiles.keys() {
        let target = mlr::render::Target {
            profile: Some(name.clone()),
            ..Default::default()
        };
        let _ = mlr::render::dockerfile_for(&manifest, &read.lock, &target);
    }
    let requests = mlr::requests::Requests::of(&manifest);
    let (framework, profile_only) = (requests.framework_names(), requests.profile_only_pip());
    for group in mlr::render::PIP_GROUPS {
        let _ = mlr::render::pip_requirements(
            &read.lock,
            &framework,
            &profile_only,
            true,
            group,
            "linux/amd64",
        );
    }
});
