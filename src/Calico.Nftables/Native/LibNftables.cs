using System.Runtime.InteropServices;

namespace Calico.Nftables.Native;

/// <summary>
/// The few functions of libnftables (Debian package libnftables1, <c>libnftables.so.1</c>) this project calls.
/// libnftables is GPL-2, so it is never shipped or linked at build time: it is loaded when first needed from the
/// machine's own installation, and its absence is reported with what to install.
/// </summary>
internal static unsafe class LibNftables
{
    public const string LibraryName = "libnftables.so.1";

    private static readonly Lazy<Functions> Loaded = new(() => Load(LibraryName), LazyThreadSafetyMode.ExecutionAndPublication);

    public static Functions Api => Loaded.Value;

    /// <summary>Function pointers resolved once; the library stays loaded for the life of the process.</summary>
    public sealed class Functions
    {
        public required delegate* unmanaged<uint, nint> CtxNew { get; init; }
        public required delegate* unmanaged<nint, void> CtxFree { get; init; }
        public required delegate* unmanaged<nint, byte*, int> RunCmdFromBuffer { get; init; }
        public required delegate* unmanaged<nint, int> BufferOutput { get; init; }
        public required delegate* unmanaged<nint, int> BufferError { get; init; }
        // Both return a const char* owned by the context, valid until the next call on it: copied at once.
        public required delegate* unmanaged<nint, nint> GetOutputBuffer { get; init; }
        public required delegate* unmanaged<nint, nint> GetErrorBuffer { get; init; }
        public required delegate* unmanaged<nint, uint> OutputGetFlags { get; init; }
        public required delegate* unmanaged<nint, uint, void> OutputSetFlags { get; init; }
    }

    /// <summary>Loads <paramref name="libraryName"/> (tests pass a missing name to check the message).</summary>
    internal static Functions Load(string libraryName)
    {
        if (!NativeLibrary.TryLoad(libraryName, out var library))
        {
            throw new DllNotFoundException(
                $"{libraryName} could not be loaded: install libnftables1 (Debian/Ubuntu: `apt-get install libnftables1`; " +
                "it comes with the nftables package). It is loaded at run time and never shipped with Calico (GPL-2).");
        }
        nint Export(string name) => NativeLibrary.TryGetExport(library, name, out var address)
            ? address
            : throw new EntryPointNotFoundException($"{libraryName} has no function {name}: libnftables1 1.0 or newer is needed");
        return new Functions
        {
            CtxNew = (delegate* unmanaged<uint, nint>)Export("nft_ctx_new"),
            CtxFree = (delegate* unmanaged<nint, void>)Export("nft_ctx_free"),
            RunCmdFromBuffer = (delegate* unmanaged<nint, byte*, int>)Export("nft_run_cmd_from_buffer"),
            BufferOutput = (delegate* unmanaged<nint, int>)Export("nft_ctx_buffer_output"),
            BufferError = (delegate* unmanaged<nint, int>)Export("nft_ctx_buffer_error"),
            GetOutputBuffer = (delegate* unmanaged<nint, nint>)Export("nft_ctx_get_output_buffer"),
            GetErrorBuffer = (delegate* unmanaged<nint, nint>)Export("nft_ctx_get_error_buffer"),
            OutputGetFlags = (delegate* unmanaged<nint, uint>)Export("nft_ctx_output_get_flags"),
            OutputSetFlags = (delegate* unmanaged<nint, uint, void>)Export("nft_ctx_output_set_flags"),
        };
    }
}
