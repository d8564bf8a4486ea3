//! Source archives unpacked safely: one top directory, nothing that lands
//! outside it.

use std::path::{Component, Path};

use anyhow::{Context, bail};

/// Unpack an archive (`.tar.gz`, or `.zip` by its `filename`) whose
/// entries all sit under one top directory into `dest` (which must not
/// exist), without that directory, whose name is returned. An entry that
/// would land outside it (an absolute or `..` path, a link leading out, a
/// device) refuses the archive.
pub fn unpack_single_top(archive: &Path, filename: &str, dest: &Path) -> anyhow::Result<String> {
    let what = format!("unpacking {filename}");
    let parent = dest
        .parent()
        .context("an unpack destination has a parent")?;
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let tmp = tempfile::Builder::new()
        .prefix(".mlr-unpack-")
        .tempdir_in(parent)
        .with_context(|| what.clone())?;
    let mut top: Option<String> = None;
    // `Ok(false)`: the archive's root itself (`./`), nothing to unpack.
    let mut same_top = |path: &Path| -> anyhow::Result<bool> {
        // Old sdists write `./pkg-1.0/...`.
        let mut parts = path
            .components()
            .skip_while(|c| matches!(c, Component::CurDir))
            .peekable();
        if parts.peek().is_none() {
            return Ok(false);
        }
        let first = match parts.next() {
            Some(Component::Normal(f)) => f.to_string_lossy().into_owned(),
            _ => bail!(
                "{what}: `{}` is outside the archive's directory",
                path.display()
            ),
        };
        if !parts.all(|c| matches!(c, Component::Normal(_))) {
            bail!(
                "{what}: `{}` leaves the archive's directory",
                path.display()
            );
        }
        match &top {
            Some(t) if *t != first => {
                bail!(
                    "{what}: `{}` is not under `{t}/`, the archive's one top directory",
                    path.display()
                )
            }
            Some(_) => {}
            None => top = Some(first),
        }
        Ok(true)
    };
    let file = std::fs::File::open(archive).with_context(|| what.clone())?;
    if filename.ends_with(".zip") {
        let mut zip = zip::ZipArchive::new(file).with_context(|| what.clone())?;
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).with_context(|| what.clone())?;
            let Some(path) = entry.enclosed_name() else {
                bail!("{what}: `{}` leaves the archive's directory", entry.name());
            };
            if !same_top(&path)? {
                continue;
            }
            let out = tmp.path().join(&path);
            if entry.is_dir() {
                std::fs::create_dir_all(&out).with_context(|| what.clone())?;
                continue;
            }
            if !entry.is_file() {
                bail!("{what}: `{}` is not a file or a directory", path.display());
            }
            if let Some(p) = out.parent() {
                std::fs::create_dir_all(p).with_context(|| what.clone())?;
            }
            let mut f = std::fs::File::create(&out).with_context(|| what.clone())?;
            std::io::copy(&mut entry, &mut f).with_context(|| what.clone())?;
        }
    } else {
        let mut tar =
            tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
        tar.set_preserve_permissions(true);
        tar.set_preserve_mtime(true);
        tar.set_unpack_xattrs(false);
        for entry in tar.entries().with_context(|| what.clone())? {
            let mut entry = entry.with_context(|| what.clone())?;
            let path = entry.path().with_context(|| what.clone())?.into_owned();
            let kind = entry.header().entry_type();
            // PAX headers of the archive, not files.
            if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
                continue;
            }
            if !same_top(&path)? {
                continue;
            }
            let allowed =
                kind.is_file() || kind.is_dir() || kind.is_symlink() || kind.is_hard_link();
            if !allowed {
                bail!(
                    "{what}: `{}` is not a file, a directory or a link",
                    path.display()
                );
            }
            // tar keeps links (and their targets) inside the unpack root.
            if !entry.unpack_in(tmp.path()).with_context(|| what.clone())? {
                bail!("{what}: `{}` would leave the context", path.display());
            }
        }
    }
    let top = top.with_context(|| format!("{what}: the archive is empty"))?;
    std::fs::rename(tmp.path().join(&top), dest)
        .with_context(|| format!("{what}: moving it to {}", dest.display()))?;
    Ok(top)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
            Vec::new(),
            flate2::Compression::default(),
        ));
        for (path, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, path, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn one_top_directory_is_unpacked_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar.gz");
        std::fs::write(
            &archive,
            tar_gz(&[
                ("./pkg-1.0/setup.py", b"x"),
                ("./pkg-1.0/pkg/__init__.py", b""),
            ]),
        )
        .unwrap();
        let dest = dir.path().join("src");
        let top = unpack_single_top(&archive, "pkg-1.0.tar.gz", &dest).unwrap();
        assert_eq!(top, "pkg-1.0");
        assert_eq!(std::fs::read(dest.join("setup.py")).unwrap(), b"x");
        assert!(dest.join("pkg/__init__.py").is_file());

        std::fs::write(&archive, tar_gz(&[("a/x", b""), ("b/y", b"")])).unwrap();
        let err = unpack_single_top(&archive, "two.tar.gz", &dir.path().join("two"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("the archive's one top directory"), "{err}");
    }
}
